using System.Runtime.InteropServices;

namespace Fastsock.Native;

/// <summary>
/// <c>bpf(2)</c> through <c>syscall(2)</c> (glibc has no wrapper). Each command takes a <c>union bpf_attr</c>; the
/// structs below lay out the few members we use, at the offsets of <c>linux/bpf.h</c>, zero elsewhere.
/// </summary>
internal static unsafe partial class BpfCalls
{
    private const long SYS_bpf = 321; // x86_64

    public const int BPF_MAP_CREATE = 0;
    public const int BPF_MAP_LOOKUP_ELEM = 1;
    public const int BPF_MAP_UPDATE_ELEM = 2;
    public const ulong BPF_EXIST = 2; // update only: the key must be there already
    public const int BPF_PROG_LOAD = 5;
    public const int BPF_PROG_ATTACH = 8;
    public const int BPF_LINK_CREATE = 28;

    public const uint BPF_MAP_TYPE_HASH = 1;
    public const uint BPF_MAP_TYPE_PERCPU_ARRAY = 6;
    public const uint BPF_MAP_TYPE_SOCKHASH = 18;

    public const uint BPF_PROG_TYPE_SOCK_OPS = 13;
    public const uint BPF_PROG_TYPE_SK_MSG = 16;

    public const uint BPF_CGROUP_SOCK_OPS = 3;
    public const uint BPF_SK_MSG_VERDICT = 7;

    /// <summary><c>open(2)</c>, for the cgroup directory a program attaches to (O_RDONLY | O_DIRECTORY | O_CLOEXEC).</summary>
    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Open(string path, int flags);

    public const int O_DIRECTORY_CLOEXEC = 0x10000 | 0x80000;

    [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true)]
    private static partial long Syscall(long number, long command, void* attr, long size);

    /// <summary>Runs <paramref name="command"/> with <paramref name="attr"/>; returns the kernel's result (an fd for create/load/link) or -1.</summary>
    public static int Bpf<T>(int command, ref T attr)
        where T : unmanaged
    {
        fixed (T* pointer = &attr)
        {
            return (int)Syscall(SYS_bpf, command, pointer, sizeof(T));
        }
    }

    /// <summary>BPF_MAP_CREATE.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct MapCreateAttr
    {
        public uint MapType;
        public uint KeySize;
        public uint ValueSize;
        public uint MaxEntries;
        public uint MapFlags;
        public uint InnerMapFd;
        public uint NumaNode;
        public fixed byte Name[16];
    }

    /// <summary>BPF_MAP_LOOKUP_ELEM and BPF_MAP_UPDATE_ELEM.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct MapElemAttr
    {
        public uint MapFd;
        private readonly uint _pad;
        public ulong Key;
        public ulong Value;
        public ulong Flags;
    }

    /// <summary>BPF_PROG_LOAD, up to <c>expected_attach_type</c>.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct ProgLoadAttr
    {
        public uint ProgType;
        public uint InstructionCount;
        public ulong Instructions;
        public ulong License;
        public uint LogLevel;
        public uint LogSize;
        public ulong LogBuffer;
        public uint KernelVersion;
        public uint ProgFlags;
        public fixed byte Name[16];
        public uint IfIndex;
        public uint ExpectedAttachType;
    }

    /// <summary>BPF_PROG_ATTACH.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct ProgAttachAttr
    {
        public uint TargetFd;
        public uint AttachBpfFd;
        public uint AttachType;
        public uint AttachFlags;
        public uint ReplaceBpfFd;
    }

    /// <summary>BPF_LINK_CREATE.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct LinkCreateAttr
    {
        public uint ProgFd;
        public uint TargetFd;
        public uint AttachType;
        public uint Flags;
        private readonly ulong _reserved0;
        private readonly ulong _reserved1;
    }
}
