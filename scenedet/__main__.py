from scenedet.cli import main

main()
