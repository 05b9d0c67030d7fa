/* check_main: the one main() of every unit-test executable; PITR_SUITE names the suite. */
#include <check.h>
#include <stdlib.h>

Suite *PITR_SUITE(void);

int main(void)
{
    SRunner *sr = srunner_create(PITR_SUITE());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
