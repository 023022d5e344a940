// Heap accounting for the fuzz targets' cost budgets (see CLibFuzzer.h, FuzzSupport).
//
// AddressSanitizer calls the installed hooks on every malloc and free; the sizes come from ASan
// itself. The ASan entry points are weak: a build without sanitizers links, and counting is off.
#include "CLibFuzzer.h"

int __sanitizer_install_malloc_and_free_hooks(
    void (*malloc_hook)(const volatile void *, size_t), void (*free_hook)(const volatile void *)) __attribute__((weak));
size_t __sanitizer_get_allocated_size(const volatile void *pointer) __attribute__((weak));

static size_t live;
static size_t peak;
static int counting;

static void on_malloc(const volatile void *pointer, size_t size) {
    (void)pointer;
    size_t now = __atomic_add_fetch(&live, size, __ATOMIC_RELAXED);
    if (now > __atomic_load_n(&peak, __ATOMIC_RELAXED)) __atomic_store_n(&peak, now, __ATOMIC_RELAXED);
}

static void on_free(const volatile void *pointer) {
    if (pointer == NULL) return;
    __atomic_sub_fetch(&live, __sanitizer_get_allocated_size(pointer), __ATOMIC_RELAXED);
}

int fuzz_allocations_start(void) {
    if (counting) return 1;
    if (__sanitizer_install_malloc_and_free_hooks == NULL || __sanitizer_get_allocated_size == NULL) return 0;
    counting = __sanitizer_install_malloc_and_free_hooks(on_malloc, on_free) != 0;
    return counting;
}

size_t fuzz_allocations_live(void) { return __atomic_load_n(&live, __ATOMIC_RELAXED); }
size_t fuzz_allocations_peak(void) { return __atomic_load_n(&peak, __ATOMIC_RELAXED); }
void fuzz_allocations_reset_peak(void) { __atomic_store_n(&peak, __atomic_load_n(&live, __ATOMIC_RELAXED), __ATOMIC_RELAXED); }
