# One line per public header under test.
