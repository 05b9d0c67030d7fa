/* curl_api: libcurl is loaded with dlopen when it is first needed, not linked: its ~30 dependent
 * libraries cost pitr-archive about 4 ms and 4.5 MB of RSS per WAL segment, which a local
 * repository without notifications should not pay. */
#include "storage/curl_api.h"

#include <dlfcn.h>
#include <stdbool.h>
#include <stddef.h>

static struct curl_api api;
static bool loaded;

const struct curl_api *curl_api_load(const char *who, struct pitr_err *err)
{
    static const char *const names[] = {"libcurl.so.4", "libcurl.so"};
    CURLcode (*global_init)(long flags) = NULL;
    void *lib = NULL;

    if (loaded) {
        return &api;
    }
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]) && lib == NULL; i++) {
        lib = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
    }
    if (lib == NULL) {
        err_set(err, PITR_CONFIG,
                "%s need libcurl: could not load it (%s); install the libcurl4 package", who,
                dlerror());
        return NULL;
    }
    /* dlsym returns void *; POSIX guarantees it converts to a function pointer */
    *(void **)&global_init = dlsym(lib, "curl_global_init");
    *(void **)&api.easy_init = dlsym(lib, "curl_easy_init");
    *(void **)&api.easy_cleanup = dlsym(lib, "curl_easy_cleanup");
    *(void **)&api.easy_reset = dlsym(lib, "curl_easy_reset");
    *(void **)&api.easy_setopt = dlsym(lib, "curl_easy_setopt");
    *(void **)&api.easy_perform = dlsym(lib, "curl_easy_perform");
    *(void **)&api.easy_getinfo = dlsym(lib, "curl_easy_getinfo");
    *(void **)&api.easy_strerror = dlsym(lib, "curl_easy_strerror");
    *(void **)&api.slist_append = dlsym(lib, "curl_slist_append");
    *(void **)&api.slist_free_all = dlsym(lib, "curl_slist_free_all");
    *(void **)&api.getdate = dlsym(lib, "curl_getdate");
    if (!global_init || !api.easy_init || !api.easy_cleanup || !api.easy_reset ||
        !api.easy_setopt || !api.easy_perform || !api.easy_getinfo || !api.easy_strerror ||
        !api.slist_append || !api.slist_free_all || !api.getdate) {
        err_set(err, PITR_CONFIG, "the libcurl found lacks functions pitr needs: %s", dlerror());
        return NULL;
    }
    if (global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        err_set(err, PITR_INTERNAL, "could not initialise libcurl");
        return NULL;
    }
    loaded = true; /* the library stays loaded for the life of the process */
    return &api;
}
