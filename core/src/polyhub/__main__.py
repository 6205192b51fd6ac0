import sys

from polyhub._cli import main

sys.exit(main())
