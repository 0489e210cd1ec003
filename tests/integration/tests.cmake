# Tests that run fanout binaries or real servers on 127.0.0.1.
