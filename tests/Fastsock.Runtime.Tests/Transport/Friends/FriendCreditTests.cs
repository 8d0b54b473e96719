using System.Buffers.Binary;
using System.Net.Sockets;
using System.Security.Cryptography;
using Fastsock.Tests.Support;
using Fastsock.Transport;
using Fastsock.Transport.Friends;

namespace Fastsock.Tests.Transport.Friends;

/// <summary>
/// The credit: what a fastsock connection reads gives its peer's redirect budget back (FriendCredit), so a pair whose
/// reader keeps up stays redirected past 4 MiB, while a reader that stops reading still stops the redirect at the budget.
/// The peers here are the test's own sockets, which never credit: only the fastsock side's reading counts.
/// </summary>
public sealed class FriendCreditTests
{
    private const int Block = 256 * 1024;

    [FriendsFact]
    public async Task A_connection_keeps_redirecting_past_its_budget_while_our_side_reads_it()
    {
        using var cgroup = FriendsCgroup.CreateAndJoin();
        await using var server = await TestServers.StartAsync(AckEachBlockThenAnswerCountAndHash, o =>
        {
            o.Cores = CoreSets.First;
            o.TcpFriends.Enabled = true;
        });
        var payload = FriendsTraffic.Payload(4 * FriendsPrograms.RedirectBudget, 11);
        using var client = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(server.EndPoints[0]);

        // One block at a time, each acknowledged once the server has read it: the server's side keeps up, so at most a
        // block plus one credit batch is ever unread, far below the budget.
        var random = new Random(12);
        var ack = new byte[1];
        for (int at = 0; at < payload.Length; at += Block)
        {
            await SendInPiecesAsync(client, payload.AsMemory(at, Block), random);
            Assert.Equal(1, await client.ReceiveAsync(ack.AsMemory(), SocketFlags.None).AsTask().WaitAsync(Clients.Timeout));
        }

        client.Shutdown(SocketShutdown.Send);
        var answer = await ReceiveAnswerAsync(client);

        Assert.Equal(payload.Length, BinaryPrimitives.ReadInt64LittleEndian(answer));
        Assert.Equal(SHA256.HashData(payload), answer[8..]);

        // Four budgets sent, none through TCP (without credit, everything past the first 4 MiB would have been).
        ulong throughTcp = FriendsTraffic.BytesAckedByTcp(client);
        Assert.True(throughTcp < FriendCredit.Batch, $"{throughTcp} bytes of the client's {payload.Length} went through TCP: its budget was not credited");
        ulong redirected = FriendsTraffic.Sum(server.Friends!.ReadCounter(FriendsPrograms.CounterBytesRedirected));
        Assert.True(redirected >= (ulong)payload.Length, $"{redirected} bytes redirected, less than the {payload.Length} sent");
    }

    [FriendsFact]
    public async Task A_connection_whose_reader_stops_reading_falls_back_to_tcp_at_its_budget_and_loses_nothing()
    {
        using var cgroup = FriendsCgroup.CreateAndJoin();
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = await TestServers.StartAsync(async connection =>
        {
            await release.Task; // the handler reads nothing until then: the transport stops once its input pipe is full
            await AnswerCountAndHashAsync(connection);
        }, o =>
        {
            o.Cores = CoreSets.First;
            o.TcpFriends.Enabled = true;
        });
        var payload = FriendsTraffic.Payload(4 * FriendsPrograms.RedirectBudget, 13);
        using var client = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(server.EndPoints[0]);

        // First 2 MiB, then wait until the transport has read (and so credited) what its input pipe takes: the credit
        // is in before the budget could be spent, so a credit that did not stop with the reading would show below.
        int head = 2 * FriendCredit.Batch;
        await SendInPiecesAsync(client, payload.AsMemory(0, head), new Random(14));
        await Eventually.AssertAsync(
            () => server.GetStats().Sum(w => w.BytesReceived) >= FriendCredit.Batch,
            () => $"the server read {server.GetStats().Sum(w => w.BytesReceived)} bytes of the first {head}");
        var sending = SendRestAndHalfCloseAsync(client, payload.AsMemory(head));

        // Unread, the redirect stops at the budget and the rest goes through TCP (acknowledged into the server's receive
        // buffer, then held back by its window), while the handler still has not read a byte.
        await Eventually.AssertAsync(
            () => FriendsTraffic.BytesAckedByTcp(client) > 64 * 1024,
            () => $"nothing went through TCP while the server did not read ({FriendsTraffic.BytesAckedByTcp(client)} bytes acked)");
        Assert.False(release.Task.IsCompleted);
        ulong redirected = FriendsTraffic.Sum(server.Friends!.ReadCounter(FriendsPrograms.CounterBytesRedirected));

        // The bound: the budget, plus what the transport read into its full input pipe (1 MiB) and so credited, plus one
        // send of at most 256 KiB; a batch of slack. Without the bound, all 16 MiB.
        ulong bound = (ulong)(FriendsPrograms.RedirectBudget + (2 * FriendCredit.Batch) + (2 * Block));
        Assert.True(redirected <= bound, $"{redirected} bytes redirected while the reader did not read, more than {bound}");

        release.SetResult();
        await sending;
        var answer = await ReceiveAnswerAsync(client);
        Assert.Equal(payload.Length, BinaryPrimitives.ReadInt64LittleEndian(answer));
        Assert.Equal(SHA256.HashData(payload), answer[8..]);
    }

    /// <summary>Reads to the end, writing one byte for each <see cref="Block"/> read, then answers the count and SHA-256.</summary>
    private static async Task AckEachBlockThenAnswerCountAndHash(Connection connection)
    {
        var input = connection.Transport.Input;
        var output = connection.Transport.Output;
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        long total = 0;
        while (true)
        {
            var result = await input.ReadAsync();
            foreach (var segment in result.Buffer)
            {
                hash.AppendData(segment.Span);
            }

            long before = total;
            total += result.Buffer.Length;
            input.AdvanceTo(result.Buffer.End);
            long acks = (total / Block) - (before / Block);
            if (acks > 0)
            {
                await output.WriteAsync(new byte[acks]);
            }

            if (result.IsCompleted)
            {
                break;
            }
        }

        await WriteAnswerAsync(connection, total, hash.GetHashAndReset());
    }

    private static async Task AnswerCountAndHashAsync(Connection connection)
    {
        var (total, sha256) = await PipeHash.HashToEndAsync(connection.Transport.Input);
        await WriteAnswerAsync(connection, total, sha256);
    }

    private static async Task WriteAnswerAsync(Connection connection, long total, byte[] sha256)
    {
        var answer = new byte[8 + sha256.Length];
        BinaryPrimitives.WriteInt64LittleEndian(answer, total);
        sha256.CopyTo(answer, 8);
        await connection.Transport.Output.WriteAsync(answer);
        await connection.Transport.Input.CompleteAsync();
        await connection.Transport.Output.CompleteAsync();
    }

    private static async Task SendInPiecesAsync(Socket socket, ReadOnlyMemory<byte> data, Random random)
    {
        while (!data.IsEmpty)
        {
            int size = Math.Min(data.Length, random.Next(4) == 0 ? random.Next(1, 64) : random.Next(1, 64 * 1024));
            int sent = await socket.SendAsync(data[..size], SocketFlags.None).AsTask().WaitAsync(Clients.Timeout);
            data = data[sent..];
        }
    }

    private static async Task SendRestAndHalfCloseAsync(Socket socket, ReadOnlyMemory<byte> rest)
    {
        await SendInPiecesAsync(socket, rest, new Random(15));
        socket.Shutdown(SocketShutdown.Send);
    }

    /// <summary>Everything until the peer's FIN: the answer, 8 bytes of count and 32 of SHA-256.</summary>
    private static async Task<byte[]> ReceiveAnswerAsync(Socket socket)
    {
        var buffer = new byte[256];
        int length = 0;
        int n;
        while ((n = await socket.ReceiveAsync(buffer.AsMemory(length), SocketFlags.None).AsTask().WaitAsync(Clients.Timeout)) > 0)
        {
            length += n;
            Assert.True(length < buffer.Length, "more than the 40-byte answer came");
        }

        Assert.Equal(40, length);
        return buffer[..length];
    }
}
