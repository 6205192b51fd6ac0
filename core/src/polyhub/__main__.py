from polyhub.cli import main
import sys

sys.exit(main())
