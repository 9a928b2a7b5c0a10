/* Sandbox stand-in for aiter's module_mhc: a real shared object with no GPU code.
 * The Python side loads it (as aiter's JIT loader loads the real module) and checks its ABI tag. */
const char *aiter_module_name(void) { return "module_mhc"; }
const char *aiter_standin_note(void) { return "sandbox stand-in: no ROCm kernels inside"; }
int aiter_module_abi(void) { return 1; }
