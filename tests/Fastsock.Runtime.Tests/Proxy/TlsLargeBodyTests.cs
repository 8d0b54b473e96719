using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Fastsock.Tests.Support;

namespace Fastsock.Tests.Proxy;

/// <summary>
/// A large body through an https frontend in http mode, byte-exact both ways, with HttpClient as the client: each
/// side hashes what it sent or received and the hashes are compared.
/// </summary>
public sealed class TlsLargeBodyTests : TlsOperationsHarness
{
    // 1 GiB each way, the size the issue asks for: the whole test took 12 s on the shared 2-core machine (under ~20 s).
    private const long BodySize = 1L << 30;

    [Fact]
    public async Task One_gib_body_goes_through_tls_byte_exact_as_an_upload_and_as_a_download()
    {
        using var backend = new HashingBackend();
        var (_, frontend, _) = await StartAsync(CoreSets.FirstText, backend.Port);
        using var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (_, token) =>
            {
                var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
                await socket.ConnectAsync(frontend, token);
                return new NetworkStream(socket, ownsSocket: true);
            },
            SslOptions = { RemoteCertificateValidationCallback = (_, certificate, _, _) => IsSiteCertificate(certificate) },
        };
        using var client = new HttpClient(handler) { Timeout = TimeSpan.FromMinutes(3) };
        var origin = $"https://a.example.test:{frontend.Port}";

        var upload = new BlockStream(BodySize);
        using var content = new StreamContent(upload, 256 * 1024);
        content.Headers.ContentLength = BodySize;
        using var posted = await client.PostAsync(new Uri($"{origin}/upload"), content);
        Assert.Equal(HttpStatusCode.OK, posted.StatusCode);
        var sent = Convert.ToHexString(upload.Hash());
        Assert.Equal(sent, await posted.Content.ReadAsStringAsync());

        using var got = await client.GetAsync(new Uri($"{origin}/download"), HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(BodySize, got.Content.Headers.ContentLength);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        await using var body = await got.Content.ReadAsStreamAsync();
        var buffer = new byte[256 * 1024];
        long received = 0;
        int n;
        while ((n = await body.ReadAsync(buffer)) > 0)
        {
            hash.AppendData(buffer, 0, n);
            received += n;
        }

        Assert.Equal(BodySize, received);
        // The backend sends the same blocks the upload was made of (one static block per process), so the same hash.
        Assert.Equal(sent, Convert.ToHexString(hash.GetHashAndReset()));
    }

    /// <summary>
    /// <paramref name="length"/> bytes of one random 1 MiB block whose first 8 bytes are overwritten by the block's
    /// number, so a lost, repeated or reordered block changes the hash; hashed as it is read.
    /// </summary>
    private sealed class BlockStream(long length) : Stream
    {
        private static readonly byte[] Block = RandomNumberGenerator.GetBytes(1 << 20);
        private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        private long _position;
        private byte[]? _final;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => length;

        public override long Position { get => _position; set => throw new NotSupportedException(); }

        /// <summary>The SHA-256 of all the bytes, kept when the last one is read (HttpClient may dispose the stream after sending).</summary>
        public byte[] Hash() => _final ?? throw new InvalidOperationException($"only {_position} of {length} bytes were read");

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            int n = (int)Math.Min(buffer.Length, length - _position);
            Span<byte> number = stackalloc byte[8];
            for (int done = 0; done < n;)
            {
                long at = _position + done;
                int inBlock = (int)(at & (Block.Length - 1));
                int take = Math.Min(n - done, Block.Length - inBlock);
                Block.AsSpan(inBlock, take).CopyTo(buffer[done..]);
                BitConverter.TryWriteBytes(number, at >> 20);
                for (int i = inBlock; i < 8 && i < inBlock + take; i++)
                {
                    buffer[done + i - inBlock] = number[i];
                }

                done += take;
            }

            _hash.AppendData(buffer[..n]);
            _position += n;
            if (_position == length && _final is null)
            {
                _final = _hash.GetHashAndReset();
            }

            return n;
        }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => ValueTask.FromResult(Read(buffer.Span));

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            _hash.Dispose();
            base.Dispose(disposing);
        }
    }

    /// <summary>
    /// A backend for POST /upload (answers the SHA-256 of the body in hex) and GET /download (sends a
    /// <see cref="BodySize"/> body of the same blocks), keep-alive.
    /// </summary>
    private sealed class HashingBackend : IDisposable
    {
        private readonly Socket _listener = new(SocketType.Stream, ProtocolType.Tcp);
        private readonly Task _serving;

        public HashingBackend()
        {
            _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            _listener.Listen(16);
            _serving = Task.Run(ServeAsync);
        }

        public int Port => ((IPEndPoint)_listener.LocalEndPoint!).Port;

        public void Dispose() => _listener.Dispose();

        private async Task ServeAsync()
        {
            while (true)
            {
                Socket connection;
                try
                {
                    connection = await _listener.AcceptAsync();
                }
                catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
                {
                    return;
                }

                _ = Task.Run(() => ConverseAsync(connection));
            }
        }

        private static async Task ConverseAsync(Socket connection)
        {
            using var _ = connection;
            var buffer = new byte[256 * 1024];
            int filled = 0;
            try
            {
                while (true)
                {
                    int end;
                    while ((end = buffer.AsSpan(0, filled).IndexOf("\r\n\r\n"u8)) < 0)
                    {
                        int n = await connection.ReceiveAsync(buffer.AsMemory(filled), SocketFlags.None);
                        if (n == 0)
                        {
                            return;
                        }

                        filled += n;
                    }

                    var head = Encoding.Latin1.GetString(buffer, 0, end + 4);
                    int rest = filled - (end + 4);
                    Buffer.BlockCopy(buffer, end + 4, buffer, 0, rest);
                    filled = rest;
                    if (head.StartsWith("POST", StringComparison.Ordinal))
                    {
                        long length = long.Parse(head.Split("\r\n").First(l => l.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase))[15..].Trim(), System.Globalization.CultureInfo.InvariantCulture);
                        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
                        long left = length;
                        int first = (int)Math.Min(left, filled);
                        hash.AppendData(buffer, 0, first);
                        left -= first;
                        Buffer.BlockCopy(buffer, first, buffer, 0, filled - first);
                        filled -= first;
                        while (left > 0)
                        {
                            int n = await connection.ReceiveAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, left)), SocketFlags.None);
                            if (n == 0)
                            {
                                return;
                            }

                            hash.AppendData(buffer, 0, n);
                            left -= n;
                        }

                        var hex = Convert.ToHexString(hash.GetHashAndReset());
                        await connection.SendAsync(Encoding.ASCII.GetBytes($"HTTP/1.1 200 OK\r\nContent-Length: {hex.Length}\r\n\r\n{hex}"), SocketFlags.None);
                    }
                    else
                    {
                        await connection.SendAsync(Encoding.ASCII.GetBytes($"HTTP/1.1 200 OK\r\nContent-Length: {BodySize}\r\n\r\n"), SocketFlags.None);
                        using var body = new BlockStream(BodySize);
                        var chunk = new byte[256 * 1024];
                        int n;
                        while ((n = body.Read(chunk)) > 0)
                        {
                            await connection.SendAsync(chunk.AsMemory(0, n), SocketFlags.None);
                        }
                    }
                }
            }
            catch (SocketException)
            {
                // The proxy closed the connection: nothing more to answer.
            }
        }
    }
}
