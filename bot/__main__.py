"""`python -m bot` is the same as the `finassist` console command."""

from bot.cli import main

raise SystemExit(main())
