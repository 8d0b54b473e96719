using System.Runtime.Versioning;

// Fastsock drives Linux syscalls directly (epoll, SO_REUSEPORT BPF, sched_setaffinity).
[assembly: SupportedOSPlatform("linux")]
