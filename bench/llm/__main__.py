from bench.llm.run import main

raise SystemExit(main())
