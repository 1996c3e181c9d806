from llaqo.cli import main

raise SystemExit(main())
