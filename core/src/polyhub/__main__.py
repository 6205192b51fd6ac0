import sys

from polyhub.cli import main

sys.exit(main())
