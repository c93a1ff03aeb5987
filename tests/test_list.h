/* test_list.h — the table of tests: one line each, run in this order by tests/runner.c. */
HS_TEST(dtype_roundtrip)
