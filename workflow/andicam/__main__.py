import sys

from andicam.cli import main

sys.exit(main())
