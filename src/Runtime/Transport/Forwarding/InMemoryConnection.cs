using System.IO.Pipelines;
using System.Net;
using Fastsock.Engine;

namespace Fastsock.Transport;

/// <summary>
/// One end of an in-memory duplex connection on one worker: what one end writes, the other reads, through pipes
/// over the worker's buffer pool with continuations on its run queue. No syscall, no TCP: the way to reach an app
/// hosted on the same runtime (an <c>inproc:</c> backend). Completing an output is a FIN for the other end; an
/// <see cref="Abort"/> is a reset for it; <see cref="ConnectionClosed"/> fires for both once all four pipe ends are
/// complete, or at the first abort.
/// </summary>
public sealed class InMemoryConnection : Connection, IDuplexPipe
{
    private readonly InMemoryLink _link;
    private readonly InMemoryReader _input;
    private readonly InMemoryWriter _output;
    private readonly InMemoryWriter _peerOutput;

    private InMemoryConnection(InMemoryLink link, InMemoryReader input, InMemoryWriter output, InMemoryWriter peerOutput)
    {
        _link = link;
        _input = input;
        _output = output;
        _peerOutput = peerOutput;
    }

    /// <inheritdoc/>
    public override IDuplexPipe Transport => this;

    PipeReader IDuplexPipe.Input => _input;

    PipeWriter IDuplexPipe.Output => _output;

    /// <inheritdoc/>
    public override EndPoint? LocalEndPoint => null;

    /// <inheritdoc/>
    public override EndPoint? RemoteEndPoint => null;

    /// <inheritdoc/>
    public override int WorkerIndex => _link.Worker.Index;

    private protected override Engine.Worker? DeadlineWorker => _link.Worker;

    /// <inheritdoc/>
    public override int WorkerCpu => _link.Worker.Cpu;

    /// <summary>The bytes never leave the worker: always its CPU.</summary>
    public override int IncomingCpu => _link.Worker.Cpu;

    /// <inheritdoc/>
    public override CancellationToken ConnectionClosed => _link.Closed;

    /// <summary>Always false: an in-memory connection ends when its peer closes it.</summary>
    public override bool IsShutdownRequested => false;

    /// <summary>
    /// Creates a connected pair on the calling worker (call from a connection handler): give one end to the in-process
    /// app's <see cref="ConnectionHandler"/>, keep the other (for instance to forward to it).
    /// </summary>
    /// <exception cref="InvalidOperationException">Called off a worker thread.</exception>
    public static (InMemoryConnection Client, InMemoryConnection Server) CreatePair(int maxBufferSize = 1024 * 1024)
    {
        var worker = ConnectionForwarder.CurrentWorker() ?? throw new InvalidOperationException(
            "InMemoryConnection.CreatePair was called off a Fastsock worker thread; call it from a connection handler so both ends live on its worker.");
        return CreatePair(worker, maxBufferSize);
    }

    internal static (InMemoryConnection Client, InMemoryConnection Server) CreatePair(Worker worker, int maxBufferSize = 1024 * 1024)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBufferSize, 4096);
        var options = new PipeOptions(
            pool: worker.Pool,
            readerScheduler: worker.Scheduler,
            writerScheduler: worker.Scheduler,
            pauseWriterThreshold: maxBufferSize,
            resumeWriterThreshold: maxBufferSize / 2,
            minimumSegmentSize: Memory.CoreMemoryPool.BlockSize,
            useSynchronizationContext: false);
        var link = new InMemoryLink(worker);
        var clientToServer = new Pipe(options);
        var serverToClient = new Pipe(options);
        var clientOutput = new InMemoryWriter(link, clientToServer.Writer);
        var serverOutput = new InMemoryWriter(link, serverToClient.Writer);
        var client = new InMemoryConnection(link, new InMemoryReader(link, serverToClient.Reader), clientOutput, serverOutput);
        var server = new InMemoryConnection(link, new InMemoryReader(link, clientToServer.Reader), serverOutput, clientOutput);
        return (client, server);
    }

    /// <summary>
    /// Resets the connection: the other end's reads fail with <see cref="ConnectionResetException"/>, this end's with
    /// <see cref="ConnectionAbortedException"/>; later writes on either end go nowhere and their flushes report
    /// completion.
    /// </summary>
    public override void Abort()
    {
        if (!_link.Worker.IsCurrentThread)
        {
            _link.Worker.Post(static state => ((InMemoryConnection)state!).Abort(), this);
            return;
        }

        if (_link.Aborted)
        {
            return;
        }

        _link.Aborted = true;
        _output.Break(new ConnectionResetException("The in-process peer aborted the connection."));
        _peerOutput.Break(new ConnectionAbortedException());
        _link.Close();
    }
}

/// <summary>What the two ends of an in-memory pair share: the worker, the closed token, the end count.</summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "A CancellationTokenSource without CancelAfter holds no timer or handle; nothing to dispose (same as SocketConnection's).")]
internal sealed class InMemoryLink(Worker worker)
{
    private readonly CancellationTokenSource _closed = new();
    private int _completedEnds;

    public Worker Worker { get; } = worker;

    public bool Aborted { get; set; }

    public CancellationToken Closed => _closed.Token;

    public void OnEndCompleted()
    {
        if (++_completedEnds == 4)
        {
            Close();
        }
    }

    public void Close()
    {
        if (!_closed.IsCancellationRequested)
        {
            // Posted, as for sockets: token callbacks must not run inside the pipe call that closed the connection.
            Worker.Post(static state => ((CancellationTokenSource)state!).Cancel(), _closed);
        }
    }
}
