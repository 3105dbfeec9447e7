"""``python -m server [redis.conf] [--port 6379 --save "" ...]``."""

import sys

from server.main import main

sys.exit(main(sys.argv[1:]))
