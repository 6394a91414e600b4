// Docker's default seccomp profile (moby profiles/seccomp, as of moby 28), written as tables:
// deny by default with EPERM, allow a fixed list, allow more per capability the container has,
// and filter arguments where a syscall is only safe in part (clone's namespace flags without
// CAP_SYS_ADMIN, personality's harmless domains, socket's families but AF_ALG and AF_VSOCK).
// Syscall names unknown to an architecture are ignored when the profile is compiled.
//
// Differences from Docker 20.10's (the docker.io on Debian 12) are Docker's own later changes:
// io_uring_* no longer allowed (moby#46762), socket(AF_ALG / AF_VSOCK) refused,
// name_to_handle_at, pkey_* and newer syscalls (cachestat, fchmodat2, futex_wait/wake/requeue,
// map_shadow_stack, mseal, listmount/statmount, *xattrat, uretprobe, ...) allowed,
// process_vm_readv/writev allowed like ptrace on kernels >= 4.8, CAP_BPF and CAP_PERFMON
// unlocking bpf and perf_event_open, and an explicit defaultErrnoRet of EPERM.
import type { SeccompArg } from '../spec/types.js';
import type { DockerSeccompProfile, DockerSyscallRule } from './docker-profile.js';

const words = (s: string): string[] => s.split(/\s+/).filter(Boolean);

// Allowed for every container, grouped loosely by purpose for reading.
const ALWAYS_ALLOWED = words(`
  accept accept4 bind connect getpeername getsockname getsockopt listen recv recvfrom recvmmsg recvmmsg_time64
  recvmsg send sendmmsg sendmsg sendto setsockopt shutdown socketcall socketpair

  access chdir chmod chown chown32 close close_range copy_file_range creat dup dup2 dup3 faccessat faccessat2
  fadvise64 fadvise64_64 fallocate fchdir fchmod fchmodat fchmodat2 fchown fchown32 fchownat fcntl fcntl64
  fdatasync flock fstat fstat64 fstatat64 fstatfs fstatfs64 fsync ftruncate ftruncate64 futimesat getcwd
  getdents getdents64 lchown lchown32 link linkat _llseek lseek lstat lstat64 mkdir mkdirat mknod mknodat
  name_to_handle_at newfstatat open openat openat2 pread64 preadv preadv2 pwrite64 pwritev pwritev2 read
  readahead readlink readlinkat readv rename renameat renameat2 rmdir sendfile sendfile64 splice stat stat64
  statfs statfs64 statx symlink symlinkat sync sync_file_range syncfs tee truncate truncate64 umask unlink
  unlinkat utime utimensat utimensat_time64 utimes vmsplice write writev listmount statmount cachestat

  fgetxattr flistxattr fremovexattr fsetxattr getxattr getxattrat lgetxattr listxattr listxattrat llistxattr
  lremovexattr lsetxattr removexattr removexattrat setxattr setxattrat

  epoll_create epoll_create1 epoll_ctl epoll_ctl_old epoll_pwait epoll_pwait2 epoll_wait epoll_wait_old
  eventfd eventfd2 inotify_add_watch inotify_init inotify_init1 inotify_rm_watch fanotify_mark poll ppoll
  ppoll_time64 pselect6 pselect6_time64 select _newselect signalfd signalfd4 timerfd_create timerfd_gettime
  timerfd_gettime64 timerfd_settime timerfd_settime64 io_cancel io_destroy io_getevents io_pgetevents
  io_pgetevents_time64 io_setup io_submit ioctl pipe pipe2

  brk madvise map_shadow_stack membarrier memfd_create memfd_secret mincore mlock mlock2 mlockall mmap mmap2
  mprotect mremap mseal msync munlock munlockall munmap pkey_alloc pkey_free pkey_mprotect remap_file_pages

  execve execveat exit exit_group fork vfork wait4 waitid waitpid kill tgkill tkill pidfd_open
  pidfd_send_signal process_mrelease restart_syscall rseq set_robust_list get_robust_list set_tid_address
  set_thread_area get_thread_area prctl seccomp getcpu getrandom uname sysinfo riscv_hwprobe
  uretprobe landlock_add_rule landlock_create_ruleset landlock_restrict_self

  capget capset getegid getegid32 geteuid geteuid32 getgid getgid32 getgroups getgroups32 getpgid getpgrp
  getpid getppid getresgid getresgid32 getresuid getresuid32 getsid gettid getuid getuid32 setfsgid
  setfsgid32 setfsuid setfsuid32 setgid setgid32 setgroups setgroups32 setpgid setregid setregid32 setresgid
  setresgid32 setresuid setresuid32 setreuid setreuid32 setsid setuid setuid32

  getpriority setpriority getrlimit setrlimit prlimit64 ugetrlimit getrusage ioprio_get ioprio_set
  sched_getaffinity sched_getattr sched_getparam sched_get_priority_max sched_get_priority_min
  sched_getscheduler sched_rr_get_interval sched_rr_get_interval_time64 sched_setaffinity sched_setattr
  sched_setparam sched_setscheduler sched_yield

  rt_sigaction rt_sigpending rt_sigprocmask rt_sigqueueinfo rt_sigreturn rt_sigsuspend rt_sigtimedwait
  rt_sigtimedwait_time64 rt_tgsigqueueinfo sigaltstack sigprocmask sigreturn pause

  adjtimex alarm clock_adjtime clock_adjtime64 clock_getres clock_getres_time64 clock_gettime clock_gettime64
  clock_nanosleep clock_nanosleep_time64 getitimer gettimeofday nanosleep setitimer time times timer_create
  timer_delete timer_getoverrun timer_gettime timer_gettime64 timer_settime timer_settime64

  futex futex_requeue futex_time64 futex_wait futex_waitv futex_wake

  ipc mq_getsetattr mq_notify mq_open mq_timedreceive mq_timedreceive_time64 mq_timedsend mq_timedsend_time64
  mq_unlink msgctl msgget msgrcv msgsnd semctl semget semop semtimedop semtimedop_time64 shmat shmctl shmdt
  shmget
`);

// Allowed when the container's bounding set holds the capability that guards them anyway.
const BY_CAPABILITY: Array<[cap: string, names: string]> = [
  ['CAP_DAC_READ_SEARCH', 'open_by_handle_at'],
  [
    'CAP_SYS_ADMIN',
    'bpf clone clone3 fanotify_init fsconfig fsmount fsopen fspick lookup_dcookie lsm_get_self_attr lsm_list_modules ' +
      'lsm_set_self_attr mount mount_setattr move_mount open_tree perf_event_open quotactl quotactl_fd setdomainname ' +
      'sethostname setns syslog umount umount2 unshare',
  ],
  ['CAP_SYS_BOOT', 'reboot'],
  ['CAP_SYS_CHROOT', 'chroot'],
  ['CAP_SYS_MODULE', 'delete_module init_module finit_module'],
  ['CAP_SYS_PACCT', 'acct'],
  ['CAP_SYS_PTRACE', 'kcmp pidfd_getfd process_madvise process_vm_readv process_vm_writev ptrace'],
  ['CAP_SYS_RAWIO', 'iopl ioperm'],
  ['CAP_SYS_TIME', 'settimeofday stime clock_settime clock_settime64'],
  ['CAP_SYS_TTY_CONFIG', 'vhangup'],
  ['CAP_SYS_NICE', 'get_mempolicy mbind set_mempolicy set_mempolicy_home_node'],
  ['CAP_SYSLOG', 'syslog'],
  ['CAP_BPF', 'bpf'],
  ['CAP_PERFMON', 'perf_event_open'],
];

// Allowed only on these architectures (libseccomp's native names).
const BY_ARCH: Array<[arches: string[], names: string]> = [
  [['ppc64le'], 'sync_file_range2 swapcontext'],
  [['arm', 'arm64'], 'arm_fadvise64_64 arm_sync_file_range sync_file_range2 breakpoint cacheflush set_tls'],
  [['amd64', 'x32'], 'arch_prctl'],
  [['amd64', 'x32', 'x86'], 'modify_ldt'],
  [['s390', 's390x'], 's390_pci_mmio_read s390_pci_mmio_write s390_runtime_instr'],
  [['riscv64'], 'riscv_flush_icache'],
];

const CLONE_NEWNS = 0x00020000, CLONE_NEWCGROUP = 0x02000000, CLONE_NEWUTS = 0x04000000, CLONE_NEWIPC = 0x08000000;
const CLONE_NEWUSER = 0x10000000, CLONE_NEWPID = 0x20000000, CLONE_NEWNET = 0x40000000;
/** clone(2) flags that create namespaces: only CAP_SYS_ADMIN may pass them. */
export const CLONE_NAMESPACE_FLAGS = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWCGROUP;

const AF_ALG = 38, AF_VSOCK = 40;
// personality(2) domains a container may switch to: PER_LINUX, PER_LINUX32, with
// UNAME26, and the query (0xffffffff).
const PERSONALITIES = [0x0, 0x0008, 0x20000, 0x20008, 0xffffffff];

const EPERM = 1, ENOSYS = 38;

const eq = (index: number, value: number): SeccompArg => ({ index, value, op: 'SCMP_CMP_EQ' });

function rules(): DockerSyscallRule[] {
  const allow = (names: string[], extra: Partial<DockerSyscallRule> = {}): DockerSyscallRule => ({ names, action: 'SCMP_ACT_ALLOW', ...extra });
  return [
    allow([...ALWAYS_ALLOWED].sort()),
    // ptrace within the container's own pid namespace is safe once the kernel fixed the
    // seccomp bypass through ptrace (4.8).
    allow(['process_vm_readv', 'process_vm_writev', 'ptrace'], { includes: { minKernel: '4.8' } }),
    // Every socket family but AF_ALG (38) and AF_VSOCK (40).
    allow(['socket'], { args: [{ index: 0, value: AF_ALG, op: 'SCMP_CMP_LT' }] }),
    allow(['socket'], { args: [eq(0, AF_ALG + 1)] }),
    allow(['socket'], { args: [{ index: 0, value: AF_VSOCK, op: 'SCMP_CMP_GT' }] }),
    ...PERSONALITIES.map((p) => allow(['personality'], { args: [eq(0, p)] })),
    ...BY_ARCH.map(([arches, names]) => allow(words(names), { includes: { arches } })),
    ...BY_CAPABILITY.slice(0, 2).map(([cap, names]) => allow(words(names), { includes: { caps: [cap] } })),
    // Without CAP_SYS_ADMIN: clone without namespace flags (s390 has flags in the second argument),
    // and clone3 answers ENOSYS (its flags are behind a pointer seccomp cannot read), so libc
    // falls back to clone.
    allow(['clone'], {
      args: [{ index: 0, value: CLONE_NAMESPACE_FLAGS, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }],
      excludes: { caps: ['CAP_SYS_ADMIN'], arches: ['s390', 's390x'] },
    }),
    allow(['clone'], {
      args: [{ index: 1, value: CLONE_NAMESPACE_FLAGS, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }],
      comment: 's390 parameter ordering for clone is different',
      includes: { arches: ['s390', 's390x'] },
      excludes: { caps: ['CAP_SYS_ADMIN'] },
    }),
    { names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: ENOSYS, excludes: { caps: ['CAP_SYS_ADMIN'] } },
    ...BY_CAPABILITY.slice(2).map(([cap, names]) => allow(words(names), { includes: { caps: [cap] } })),
  ];
}

const ARCH_MAP: DockerSeccompProfile['archMap'] = [
  { architecture: 'SCMP_ARCH_X86_64', subArchitectures: ['SCMP_ARCH_X86', 'SCMP_ARCH_X32'] },
  { architecture: 'SCMP_ARCH_AARCH64', subArchitectures: ['SCMP_ARCH_ARM'] },
  { architecture: 'SCMP_ARCH_MIPS64', subArchitectures: ['SCMP_ARCH_MIPS', 'SCMP_ARCH_MIPS64N32'] },
  { architecture: 'SCMP_ARCH_MIPS64N32', subArchitectures: ['SCMP_ARCH_MIPS', 'SCMP_ARCH_MIPS64'] },
  { architecture: 'SCMP_ARCH_MIPSEL64', subArchitectures: ['SCMP_ARCH_MIPSEL', 'SCMP_ARCH_MIPSEL64N32'] },
  { architecture: 'SCMP_ARCH_MIPSEL64N32', subArchitectures: ['SCMP_ARCH_MIPSEL', 'SCMP_ARCH_MIPSEL64'] },
  { architecture: 'SCMP_ARCH_S390X', subArchitectures: ['SCMP_ARCH_S390'] },
  { architecture: 'SCMP_ARCH_RISCV64', subArchitectures: [] },
  { architecture: 'SCMP_ARCH_LOONGARCH64', subArchitectures: [] },
];

/** Docker's default profile, in Docker's profile format (conditions not yet applied). */
export function defaultSeccompProfile(): DockerSeccompProfile {
  return { defaultAction: 'SCMP_ACT_ERRNO', defaultErrnoRet: EPERM, archMap: ARCH_MAP, syscalls: rules() };
}
