using Fastsock.Transport.Tls.OpenSsl;

namespace Fastsock.Perf.TlsRecords;

/// <summary>
/// (b) OpenSSL's libssl directly: one SSL per side over two memory BIOs (SSL_set_bio), as a layer that owns its
/// buffers would drive it. Per exchange the server does BIO_write (the request record in), SSL_read, SSL_write and
/// BIO_read (the response record out), each I/O call preceded by ERR_clear_error as SSL_get_error requires.
/// </summary>
internal sealed unsafe class LibSslExchange : IExchange
{
    private const int MaxRecord = 16 * 1024 + 256;

    private readonly IntPtr _serverContext;
    private readonly IntPtr _clientContext;
    private readonly Endpoint _server;
    private readonly Endpoint _client;
    private byte[] _requests = [];
    private int[] _requestEnds = [];
    private byte[] _responses = [];
    private int _responseLength;

    public LibSslExchange(string certificatePem, string keyPem, int tlsVersion)
    {
        _serverContext = Context(LibSsl.TlsServerMethod(), tlsVersion);
        if (BenchLibSsl.CtxUseCertificateFile(_serverContext, certificatePem, BenchLibSsl.FileTypePem) != 1
            || BenchLibSsl.CtxUsePrivateKeyFile(_serverContext, keyPem, BenchLibSsl.FileTypePem) != 1)
        {
            throw new InvalidOperationException($"libssl could not load {certificatePem} / {keyPem}");
        }

        _clientContext = Context(BenchLibSsl.TlsClientMethod(), tlsVersion);
        _server = new Endpoint(_serverContext, server: true);
        _client = new Endpoint(_clientContext, server: false);
        Handshake();
        Negotiated = $"{BenchLibSsl.Text(BenchLibSsl.GetVersion(_server.Ssl))} {BenchLibSsl.Text(BenchLibSsl.CipherGetName(LibSsl.GetCurrentCipher(_server.Ssl)))}";
    }

    public string Name => "libssl, memory BIOs";

    public string Negotiated { get; }

    private static IntPtr Context(IntPtr method, int tlsVersion)
    {
        var context = LibSsl.ContextNew(method);
        if (context == IntPtr.Zero)
        {
            throw new InvalidOperationException("SSL_CTX_new failed");
        }

        LibSsl.ContextCtrl(context, LibSsl.CtrlSetMinProtocolVersion, tlsVersion, IntPtr.Zero);
        LibSsl.ContextCtrl(context, LibSsl.CtrlSetMaxProtocolVersion, tlsVersion, IntPtr.Zero);
        return context;
    }

    private void Handshake()
    {
        for (int i = 0; i < 32; i++)
        {
            LibCrypto.ErrorClear();
            int client = LibSsl.DoHandshake(_client.Ssl);
            Move(_client.Output, _server.Input);
            LibCrypto.ErrorClear();
            int server = LibSsl.DoHandshake(_server.Ssl);
            Move(_server.Output, _client.Input);
            if (client == 1 && server == 1)
            {
                return;
            }
        }

        throw new InvalidOperationException("the in-memory libssl handshake did not complete");
    }

    private static void Move(IntPtr from, IntPtr to)
    {
        var buffer = stackalloc byte[4096];
        int n;
        while ((n = LibCrypto.BioRead(from, buffer, 4096)) > 0)
        {
            Put(to, buffer, n);
        }
    }

    private static void Put(IntPtr bio, byte* data, int count)
    {
        if (LibCrypto.BioWrite(bio, data, count) != count)
        {
            throw new InvalidOperationException($"BIO_write of {count} B to a memory BIO failed");
        }
    }

    public Task PrepareAsync(int count)
    {
        if (_requestEnds.Length < count)
        {
            _requests = new byte[count * (Payload.Request.Length + 64)];
            _requestEnds = new int[count];
            _responses = new byte[count * (Payload.Response.Length + 64)];
        }

        int at = 0;
        fixed (byte* request = Payload.Request)
        fixed (byte* records = _requests)
        {
            for (int i = 0; i < count; i++)
            {
                LibCrypto.ErrorClear();
                Check(LibSsl.Write(_client.Ssl, request, Payload.Request.Length), _client.Ssl, "client SSL_write");
                at += LibCrypto.BioRead(_client.Output, records + at, _requests.Length - at);
                _requestEnds[i] = at;
            }
        }

        return Task.CompletedTask;
    }

    public Task ServeAsync(int count)
    {
        var plain = stackalloc byte[MaxRecord];
        int start = 0;
        int written = 0;
        fixed (byte* records = _requests)
        fixed (byte* response = Payload.Response)
        fixed (byte* output = _responses)
        {
            for (int i = 0; i < count; i++)
            {
                Put(_server.Input, records + start, _requestEnds[i] - start);
                start = _requestEnds[i];
                LibCrypto.ErrorClear();
                int n = LibSsl.Read(_server.Ssl, plain, MaxRecord);
                if (n != Payload.Request.Length)
                {
                    Check(n, _server.Ssl, $"server SSL_read (got {n} B)");
                }

                LibCrypto.ErrorClear();
                Check(LibSsl.Write(_server.Ssl, response, Payload.Response.Length), _server.Ssl, "server SSL_write");
                written += LibCrypto.BioRead(_server.Output, output + written, _responses.Length - written);
            }
        }

        _responseLength = written;
        return Task.CompletedTask;
    }

    public Task VerifyAsync(int count)
    {
        var plain = stackalloc byte[MaxRecord];
        fixed (byte* output = _responses)
        {
            Put(_client.Input, output, _responseLength);
            for (int i = 0; i < count; i++)
            {
                LibCrypto.ErrorClear();
                int n = LibSsl.Read(_client.Ssl, plain, MaxRecord);
                if (n != Payload.Response.Length || !new ReadOnlySpan<byte>(plain, n).SequenceEqual(Payload.Response))
                {
                    throw new InvalidOperationException($"libssl: response {i} came back as {n} B, not the {Payload.Response.Length} B sent");
                }
            }
        }

        return Task.CompletedTask;
    }

    private static void Check(int result, IntPtr ssl, string what)
    {
        if (result <= 0)
        {
            throw new InvalidOperationException($"{what} failed: SSL_get_error {LibSsl.GetError(ssl, result)}");
        }
    }

    public void Dispose()
    {
        _server.Dispose();
        _client.Dispose();
        LibSsl.ContextFree(_serverContext);
        LibSsl.ContextFree(_clientContext);
    }

    /// <summary>An SSL with its two memory BIOs (SSL_free frees them).</summary>
    private sealed class Endpoint : IDisposable
    {
        public Endpoint(IntPtr context, bool server)
        {
            Ssl = LibSsl.New(context);
            Input = LibCrypto.BioNew(LibCrypto.BioMemoryMethod());
            Output = LibCrypto.BioNew(LibCrypto.BioMemoryMethod());
            LibSsl.SetBio(Ssl, Input, Output);
            if (server)
            {
                LibSsl.SetAcceptState(Ssl);
            }
            else
            {
                BenchLibSsl.SetConnectState(Ssl);
            }
        }

        public IntPtr Ssl { get; }

        public IntPtr Input { get; }

        public IntPtr Output { get; }

        public void Dispose() => LibSsl.Free(Ssl);
    }
}
