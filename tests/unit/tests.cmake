# One line per public header under test.
fanout_test(unit histogram)
fanout_test(unit progress)
fanout_test(unit thread_pool)
fanout_test(unit offload)
fanout_test(unit gather)
