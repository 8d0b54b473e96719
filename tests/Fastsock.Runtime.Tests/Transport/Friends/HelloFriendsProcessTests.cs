using System.Text.Json;
using Fastsock.Tests.Proxy;
using Fastsock.Tests.Support;

namespace Fastsock.Tests.Transport.Friends;

/// <summary>fastsock-hello --tcp-friends as a process in a cgroup of the test's own.</summary>
public sealed class HelloFriendsProcessTests
{
    private static readonly string HelloDll = Path.Combine(AppContext.BaseDirectory, "fastsock-hello.dll");

    [FriendsFact]
    public async Task Hello_with_tcp_friends_answers_and_its_stats_count_friends_and_redirected_bytes_per_worker()
    {
        using var cgroup = FriendsCgroup.CreateAndJoin();
        using (var hello = SampleProcess.Start(HelloDll, $"--urls http://127.0.0.1:0 --cores {CoreSets.FirstText} --tcp-friends"))
        {
            var endPoint = await hello.ListeningOnAsync();
            await hello.WaitForLineAsync($"TCP friends on cgroup {cgroup.Path}");
            string hi = await HttpProxyHarness.ExchangeUntilCloseAsync(endPoint, "GET /plaintext HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
            Assert.EndsWith("Hello, World!", hi, StringComparison.Ordinal);

            // Read after the first response arrived: its send is counted by then.
            string answers = await HttpProxyHarness.ExchangeUntilCloseAsync(endPoint, "GET /stats HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
            using var stats = JsonDocument.Parse(answers[answers.IndexOf("{\"workers\"", StringComparison.Ordinal)..]);
            var friends = stats.RootElement.GetProperty("tcpFriends");
            Assert.True(friends.GetProperty("enabled").GetBoolean());
            var worker = Assert.Single(friends.GetProperty("workers").EnumerateArray());
            Assert.Equal(CoreSets.FirstCpu, worker.GetProperty("cpu").GetInt32());

            // The worker's sends (the first response at least) went by redirect, on the worker's CPU.
            Assert.True(worker.GetProperty("bytesRedirected").GetInt64() > 0, answers);
            Assert.True(worker.GetProperty("messagesRedirected").GetInt64() > 0, answers);
            hello.Signal("TERM");
            Assert.Equal(0, await hello.WaitForExitAsync(Clients.Timeout));
        }

        Assert.Empty(cgroup.AttachedPrograms());
    }
}
