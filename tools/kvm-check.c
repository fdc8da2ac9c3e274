/* kvm-check: can /dev/kvm run a guest at hardware speed?
 *
 * Some hosts (nested or sandboxed hypervisors) offer a /dev/kvm that opens,
 * creates VMs and even runs a few instructions, but executes guest code
 * orders of magnitude slower than TCG: a real guest then hangs in its
 * kernel's decompressor, and a libvirtd that sees the device re-probes QEMU
 * at every define. Opening the device proves nothing, so this runs a tiny
 * 64-bit guest through the KVM API that counts a register down from 10
 * million and halts. Real KVM does that in a few milliseconds; the broken
 * kind takes seconds. The verdict is bounded by a 1 s timer.
 *
 * Exit status: 0 usable, 1 present but unusable, 2 no /dev/kvm. One line on
 * stdout says why. Build: cc -O2 -o kvm-check kvm-check.c */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define GUEST_MEM (4u << 20)
#define CODE_AT 0x1000
#define PML4_AT 0x2000
#define PDPT_AT 0x3000
#define PD_AT 0x4000
#ifndef LOOPS
#define LOOPS 10000000u
#endif
#define USABLE_MS 200.0   /* real KVM: 3-10 ms; 20x headroom for a busy host */
#define GIVE_UP_SEC 1

static volatile sig_atomic_t timed_out;

static void
on_alarm (int sig)
{
  (void) sig;
  timed_out = 1;
}

static double
now_ms (void)
{
  struct timespec t;
  clock_gettime (CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int
unusable (const char *what)
{
  printf ("/dev/kvm cannot run guests: %s\n", what);
  return 1;
}

/* Identity-maps the first 2 MiB with one large page and writes the loop:
 * mov ecx, LOOPS; 1: dec rcx; jnz 1b; hlt */
static void
write_guest (uint8_t *mem)
{
  uint64_t *pml4 = (uint64_t *) (mem + PML4_AT);
  uint64_t *pdpt = (uint64_t *) (mem + PDPT_AT);
  uint64_t *pd = (uint64_t *) (mem + PD_AT);
  const uint8_t code[] = { 0xb9, LOOPS & 0xff, (LOOPS >> 8) & 0xff, (LOOPS >> 16) & 0xff,
                           LOOPS >> 24, 0x48, 0xff, 0xc9, 0x75, 0xfb, 0xf4 };

  pml4[0] = PDPT_AT | 3;   /* present, writable */
  pdpt[0] = PD_AT | 3;
  pd[0] = 0x83;            /* present, writable, 2 MiB page at 0 */
  memcpy (mem + CODE_AT, code, sizeof code);
}

/* Long mode with paging, flat segments, starting at CODE_AT. */
static int
enter_long_mode (int vcpu)
{
  struct kvm_sregs s;
  struct kvm_regs r = { .rip = CODE_AT, .rflags = 2 };

  if (ioctl (vcpu, KVM_GET_SREGS, &s) < 0)
    return -1;
  s.cs = (struct kvm_segment) { .limit = 0xffffffff, .selector = 8, .present = 1,
                                .type = 11, .s = 1, .l = 1, .g = 1 };
  s.ds = (struct kvm_segment) { .limit = 0xffffffff, .selector = 16, .present = 1,
                                .type = 3, .s = 1, .db = 1, .g = 1 };
  s.es = s.fs = s.gs = s.ss = s.ds;
  s.cr3 = PML4_AT;
  s.cr4 |= 1u << 5;                       /* PAE */
  s.efer |= (1u << 8) | (1u << 10);       /* LME, LMA */
  s.cr0 |= 1u | (1u << 31);               /* PE, PG */
  if (ioctl (vcpu, KVM_SET_SREGS, &s) < 0 || ioctl (vcpu, KVM_SET_REGS, &r) < 0)
    return -1;
  return 0;
}

int
main (void)
{
  struct sigaction sa = { .sa_handler = on_alarm };
  struct itimerval give_up = { .it_value = { .tv_sec = GIVE_UP_SEC } };
  struct kvm_userspace_memory_region region = { .memory_size = GUEST_MEM };
  struct kvm_run *run;
  uint8_t *mem;
  int kvm, vm, vcpu, run_size;
  double start, ms;
  char why[128];

  kvm = open ("/dev/kvm", O_RDWR | O_CLOEXEC);
  if (kvm < 0 && errno == ENOENT)
    {
      printf ("no /dev/kvm\n");
      return 2;
    }
  if (kvm < 0)
    return unusable (strerror (errno));
  if (ioctl (kvm, KVM_GET_API_VERSION, 0) != KVM_API_VERSION)
    return unusable ("unexpected KVM API version");
  vm = ioctl (kvm, KVM_CREATE_VM, 0);
  if (vm < 0)
    return unusable ("KVM_CREATE_VM failed");
  mem = mmap (NULL, GUEST_MEM, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED)
    return unusable ("no memory for the test guest");
  write_guest (mem);
  region.userspace_addr = (uint64_t) (uintptr_t) mem;
  if (ioctl (vm, KVM_SET_USER_MEMORY_REGION, &region) < 0)
    return unusable ("KVM_SET_USER_MEMORY_REGION failed");
  vcpu = ioctl (vm, KVM_CREATE_VCPU, 0);
  run_size = ioctl (kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
  if (vcpu < 0 || run_size <= 0)
    return unusable ("KVM_CREATE_VCPU failed");
  run = mmap (NULL, run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
  if (run == MAP_FAILED || enter_long_mode (vcpu) < 0)
    return unusable ("cannot set up the vCPU");

  sigaction (SIGALRM, &sa, NULL);
  setitimer (ITIMER_REAL, &give_up, NULL);
  start = now_ms ();
  for (;;)
    {
      int rc = ioctl (vcpu, KVM_RUN, 0);
      if (timed_out)
        {
          snprintf (why, sizeof why, "a %u-step loop did not finish in %d s (real KVM: ~5 ms)",
                    LOOPS, GIVE_UP_SEC);
          return unusable (why);
        }
      if (rc < 0 && errno == EINTR)
        continue;
      if (rc < 0)
        return unusable ("KVM_RUN failed");
      if (run->exit_reason == KVM_EXIT_HLT)
        break;
      if (run->exit_reason != KVM_EXIT_INTR)
        {
          snprintf (why, sizeof why, "the test guest stopped with exit reason %u",
                    run->exit_reason);
          return unusable (why);
        }
    }
  ms = now_ms () - start;
  if (ms > USABLE_MS)
    {
      snprintf (why, sizeof why, "a %u-step loop took %.0f ms (real KVM: ~5 ms)", LOOPS, ms);
      return unusable (why);
    }
  printf ("/dev/kvm runs guests (a %u-step loop took %.1f ms)\n", LOOPS, ms);
  return 0;
}
