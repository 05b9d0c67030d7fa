# Warnings are errors everywhere; sanitizers on request (the test command turns them on).
add_compile_options(-Wall -Wextra -Wshadow -Wformat=2 -Wstrict-prototypes -Werror
                    -D_GNU_SOURCE -fno-strict-aliasing)
if(PITR_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer
                      -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()
# Link only the shared libraries a binary really uses: pitr-archive and pitr-fetch start once per
# WAL segment, and every library the loader maps costs start-up time (libpq is not theirs).
add_link_options(-Wl,--as-needed)
