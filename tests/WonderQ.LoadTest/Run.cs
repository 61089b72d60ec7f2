using System.Diagnostics;

namespace WonderQ.LoadTest;

/// <summary>What one run shares: the client, its queue, its budget of messages and time, and its bookkeeping.</summary>
internal sealed class Run : IDisposable
{
    private long _taken;
    private long _delivered;
    private long _stamp;
    private long _lastDelivery;
    private long _receivable = long.MaxValue;

    /// <param name="time">What counts down the hard limit and the grace after Ctrl-C (a test's fake clock).</param>
    /// <param name="interrupt">Ctrl-C: ends the measured phase early, as its deadline would.</param>
    public Run(LoadOptions options, TimeProvider? time = null, CancellationToken interrupt = default)
    {
        _time = time ?? TimeProvider.System;
        Options = options;
        Interrupt = interrupt;
        Client = new BrokerClient(options.Url, options.ConnectionLimit, options.Http2Connections);
        Ledger = new Ledger(TimeSpan.FromSeconds(options.VisibilityTimeout), options.BodyBytes);
        Tag = Convert.ToHexStringLower(BitConverter.GetBytes(Random.Shared.NextInt64()))[..8];
        // The absolute bound: nothing outlives the duration by more than a minute, whatever the broker does; after
        // Ctrl-C, nothing outlives it by more than the grace below.
        HardLimit = options.Duration + TimeSpan.FromSeconds(60);
        Hard = new CancellationTokenSource(HardLimit, _time);
        _created = _time.GetTimestamp();
        _hardDeadline = _created + (long)(HardLimit.TotalSeconds * _time.TimestampFrequency);
        _afterInterrupt = interrupt.UnsafeRegister(static run => ((Run)run!).GiveUpSoon(), this);
    }

    private readonly long _created;
    private readonly long _hardDeadline;
    private readonly TimeProvider _time;

    /// <summary>The run's absolute bound, from its start (setup included): --duration and a minute more.</summary>
    public TimeSpan HardLimit { get; }

    /// <summary>
    /// What the tool does before the measured phase (a <c>consume</c> pre-fill, an <c>idle-waiters</c> ramp and its
    /// wait for connections) must be done this long after the run's start (setup included). The measured phase then
    /// keeps its --duration and 30 s more for the requests open at its end (a long poll of up to 20 s) inside the
    /// <see cref="HardLimit"/>: a healthy server that is only slow to take a big pre-fill is not reported as one that
    /// stopped answering.
    /// </summary>
    public static readonly TimeSpan PreparationLimit = TimeSpan.FromSeconds(30);

    /// <summary>The time since the run's start, on the clock that counts down its limits.</summary>
    public TimeSpan SinceStart => _time.GetElapsedTime(_created);

    /// <summary>Whether <see cref="PreparationLimit"/> has passed.</summary>
    public bool PastPreparationLimit => SinceStart >= PreparationLimit;

    /// <summary>After Ctrl-C: the hard limit comes forward to <see cref="InterruptGrace"/> from now, never later.</summary>
    private void GiveUpSoon()
    {
        if (_time.GetElapsedTime(_time.GetTimestamp(), _hardDeadline) > InterruptGrace)
        {
            Hard.CancelAfter(InterruptGrace);
        }
    }

    /// <summary>How long requests still open at Ctrl-C may take to finish before they are given up.</summary>
    public static readonly TimeSpan InterruptGrace = TimeSpan.FromSeconds(10);

    private readonly CancellationTokenRegistration _afterInterrupt;

    public LoadOptions Options { get; }

    public BrokerClient Client { get; }

    public Ledger Ledger { get; }

    /// <summary>Marks this run's message bodies.</summary>
    public string Tag { get; }

    public CancellationTokenSource Hard { get; }

    public CancellationToken Interrupt { get; }

    public bool Interrupted => Interrupt.IsCancellationRequested;

    public QueueRef Queue { get; private set; } = null!;

    public bool OwnsQueue { get; private set; }

    public List<string> Notes { get; } = [];

    public Dictionary<string, object?> Extra { get; } = [];

    /// <summary>The broker's CPU time (null without --broker-pid) and the tool's own when the counted work began.</summary>
    public (TimeSpan? Broker, TimeSpan Own) CpuFrom { get; private set; }

    /// <summary>The same when the counted work ended, if the scenario ended it before its own end (<see cref="StopCpu"/>).</summary>
    private (TimeSpan? Broker, TimeSpan Own)? _cpuTo;

    /// <summary>
    /// Acknowledged sends before the counted work began: a <c>consume</c> pre-fill's, whose CPU is not counted per
    /// message, so its messages must not be either (a drain cut short by --duration divided the drain's CPU by them).
    /// </summary>
    public long SentBeforeCpu { get; private set; }

    /// <summary>
    /// Counts CPU from now on; what went before (a <c>consume</c> pre-fill, an <c>idle-waiters</c> ramp) goes under its
    /// own names, not per message of the measured phase.
    /// </summary>
    public void StartCpu(string? reportWhatWentBeforeAs = null)
    {
        var now = CpuNow();
        if (reportWhatWentBeforeAs is not null)
        {
            ReportCpuApart(reportWhatWentBeforeAs, CpuFrom, now);
        }

        CpuFrom = now;
        SentBeforeCpu = Ledger.Sent;
    }

    /// <summary>
    /// Stops counting CPU: what the scenario does after its measured phase (releasing <c>idle-waiters</c>' thousands of
    /// long polls) is not the cost of its messages either.
    /// </summary>
    public void StopCpu() => _cpuTo = CpuNow();

    /// <summary>
    /// The CPU the counted work used, up to <see cref="StopCpu"/> (or now, for a scenario that did not call it); what
    /// came after a stop goes under <paramref name="reportWhatCameAfterAs"/>'s names.
    /// </summary>
    public (TimeSpan? Broker, TimeSpan Own) CpuUsed(string reportWhatCameAfterAs)
    {
        var now = CpuNow();
        var to = _cpuTo ?? now;
        if (_cpuTo is not null)
        {
            ReportCpuApart(reportWhatCameAfterAs, to, now);
        }

        return (to.Broker - CpuFrom.Broker, to.Own - CpuFrom.Own);
    }

    private (TimeSpan? Broker, TimeSpan Own) CpuNow() => (Cpu.Broker(Options.BrokerPid), Cpu.LoadGenerator());

    private void ReportCpuApart(string phase, (TimeSpan? Broker, TimeSpan Own) from, (TimeSpan? Broker, TimeSpan Own) to)
    {
        if (to.Broker - from.Broker is { } broker)
        {
            Extra[$"{phase}_broker_cpu_s"] = Math.Round(broker.TotalSeconds, 2);
        }

        Extra[$"{phase}_loadgen_cpu_s"] = Math.Round((to.Own - from.Own).TotalSeconds, 2);
    }

    /// <summary>When the measured phase started; its deadline is <see cref="LoadOptions.Duration"/> later.</summary>
    public long Started => Interlocked.Read(ref _stamp);

    public TimeSpan Elapsed => Stopwatch.GetElapsedTime(Started);

    public bool PastDeadline => Elapsed >= Options.Duration || Interrupted;

    public long Taken => Math.Min(Interlocked.Read(ref _taken), Options.Messages);

    public long Delivered => Interlocked.Read(ref _delivered);

    /// <summary>Ctrl-C came before the measured phase began (during a pre-fill, a ramp or the setup): it measured nothing.</summary>
    public bool InterruptedBeforeMeasuring { get; private set; }

    public void StartClock()
    {
        InterruptedBeforeMeasuring = Interrupted;
        Interlocked.Exchange(ref _stamp, Stopwatch.GetTimestamp());
    }

    /// <summary>Takes one message from the budget: false once <c>--messages</c> are taken or the time is up.</summary>
    public bool TryTake() => !PastDeadline && Interlocked.Increment(ref _taken) <= Options.Messages;

    /// <summary>How many deliveries end the measured phase (0: none do); see <see cref="FinishedAt"/>.</summary>
    public long Target { get; set; }

    /// <summary>When deliveries reached <see cref="Target"/>, measured from <see cref="Started"/>.</summary>
    public TimeSpan? FinishedAt { get; private set; }

    /// <summary>When the last delete that was acknowledged went through, measured from <see cref="Started"/>.</summary>
    public TimeSpan? LastDeliveryAt => Interlocked.Read(ref _lastDelivery) is var at and > 0
        ? Stopwatch.GetElapsedTime(Started, at)
        : null;

    public void AddDelivered(long count)
    {
        if (count > 0)
        {
            Interlocked.Exchange(ref _lastDelivery, Stopwatch.GetTimestamp());
        }

        var total = Interlocked.Add(ref _delivered, count);
        if (Target > 0 && total >= Target && FinishedAt is null)
        {
            FinishedAt = Elapsed;
        }
    }

    /// <summary>
    /// Lets the consumers receive at most <paramref name="messages"/> in all (<c>--no-fill</c>, where every message
    /// counts): each receive asks for no more than is left, so a drain of part of a shared queue takes what it was told.
    /// </summary>
    public void LimitReceives(long messages) => Interlocked.Exchange(ref _receivable, messages);

    /// <summary>Takes up to <paramref name="size"/> from what may still be received: 0 once it is all taken.</summary>
    private int Reserve(int size)
    {
        while (true)
        {
            var left = Interlocked.Read(ref _receivable);
            var take = (int)Math.Min(size, left);
            if (take <= 0 || Interlocked.CompareExchange(ref _receivable, left - take, left) == left)
            {
                return Math.Max(0, take);
            }
        }
    }

    public async Task OpenQueueAsync(CancellationToken ct)
    {
        if (Options.Queue is { } name)
        {
            // A drain takes what the queue holds: creating a mistyped one would only leave an empty queue behind.
            Queue = Options.NoFill
                ? await Client.TryFindQueueAsync(name, ct) ?? throw new SetupException(
                    $"--no-fill drains what the queue '{name}' holds, and the server has no queue by that name: check the name (nothing was created).")
                : await Client.CreateQueueAsync(name, ct);
            OwnsQueue = false;
        }
        else
        {
            var unique = $"load-{Options.Scenario}-{DateTime.UtcNow:yyyyMMddHHmmss}-{Tag}";
            Queue = await Client.CreateQueueAsync(unique, ct);
            OwnsQueue = !Options.KeepQueue;
        }
    }

    /// <summary>Deletes the run's queue if the run made it, waiting at most <paramref name="within"/> (a minute unless given).</summary>
    public async Task CloseQueueAsync(TimeSpan? within = null)
    {
        if (OwnsQueue)
        {
            using var cts = new CancellationTokenSource(within ?? TimeSpan.FromSeconds(60));
            await Client.DeleteQueueAsync(Queue.Id, cts.Token);
        }
    }

    /// <summary>POSTs one message of the run's body size carrying sequence <paramref name="seq"/>.</summary>
    public async Task<bool> SendOneAsync(long seq, Recorder latency, CancellationToken ct)
    {
        var body = Body.Stamped(Tag, seq, Options.BodyBytes);
        if (await Client.SendAsync(Queue.Id, body, latency, ct) is { } id)
        {
            Ledger.Acknowledged(seq, id);
            return true;
        }

        return false;
    }

    /// <summary>
    /// Runs <paramref name="workers"/> copies of a loop that sends while the budget lasts.
    /// </summary>
    public Task ProduceAsync(int workers, Recorder latency, CancellationToken ct) =>
        Task.WhenAll(Enumerable.Range(0, workers).Select(_ => Task.Run(
            async () =>
            {
                while (!ct.IsCancellationRequested && TryTake())
                {
                    if (!await SendOneAsync(Ledger.NextSeq(), latency, ct))
                    {
                        // Counted; a server that is gone answers at once, and retrying in a tight loop only burns the CPU.
                        await Task.Delay(10, CancellationToken.None);
                    }
                }
            },
            CancellationToken.None)));

    /// <summary>
    /// One consumer: consume a batch, check each message in the ledger, delete them all with their tokens (concurrently,
    /// as a consumer acknowledging a processed batch would), until <paramref name="done"/> says stop.
    /// </summary>
    public async Task ConsumeLoopAsync(
        int size, int waitTime, Recorder consume, Recorder delete, Recorder? endToEnd, Func<bool> done, CancellationToken ct,
        bool pollBeforeDeletesAnswer = false)
    {
        var deletes = new List<(long? Seq, Task<(int Status, bool First)> Answer)>(size);
        var background = new List<Task>();
        while (!ct.IsCancellationRequested && !done())
        {
            var ask = Reserve(size);
            if (ask == 0)
            {
                // The rest is asked for by consumers whose receives are out: one that gets less than it asked gives the
                // difference back and asks again itself.
                break;
            }

            var askedAt = Stopwatch.GetTimestamp();
            var messages = await Client.ConsumeAsync(Queue.Id, ask, waitTime, Options.VisibilityTimeout, consume, ct);
            Interlocked.Add(ref _receivable, ask - Math.Min(ask, messages?.Length ?? 0));
            if (messages is null)
            {
                if (!ct.IsCancellationRequested)
                {
                    await Task.Delay(10, CancellationToken.None);
                }

                continue;
            }

            foreach (var message in messages)
            {
                var seq = Ledger.Receive(message.Id, message.Body, Tag, askedAt, out var first);
                if (endToEnd is not null && first && Body.TryParse(message.Body, Tag, out _, out var sentAt))
                {
                    endToEnd.Add(sentAt);
                }

                deletes.Add((seq, AcknowledgeAsync(seq, message, delete)));
            }

            if (pollBeforeDeletesAnswer)
            {
                // A latency probe: go straight back to waiting, so acknowledgements do not delay the next receive.
                background.RemoveAll(t => t.IsCompleted);
                background.Add(CountDeletedAsync([.. deletes]));
            }
            else
            {
                await CountDeletedAsync(deletes);
            }

            deletes.Clear();
        }

        await Task.WhenAll(background);
    }

    /// <summary>
    /// Deletes a received message; a 200 for one of the run's goes into the ledger as soon as it is read, so that a
    /// consume sent after it that gets the message again is caught. First: the message's first 200.
    /// </summary>
    private async Task<(int Status, bool First)> AcknowledgeAsync(long? seq, Received message, Recorder latency)
    {
        var status = await Client.DeleteAsync(message, latency, Hard.Token);
        return (status, status == 200 && seq is { } s && Ledger.Deleted(s, Stopwatch.GetTimestamp()));
    }

    private async Task CountDeletedAsync(List<(long? Seq, Task<(int Status, bool First)> Answer)> deletes)
    {
        var ok = 0;
        foreach (var (seq, task) in deletes)
        {
            switch (await task)
            {
                case (200, _) when seq is null:
                    // Another run's message, or another producer's on a shared --queue: deleted, as a drain would, but
                    // not this run's to count, unless the run drains what the queue held (--no-fill), all of it foreign.
                    Ledger.ForeignAcknowledged();
                    if (Options.NoFill)
                    {
                        ok++;
                    }

                    break;
                case (200, true):
                    ok++;
                    break;
                case (200, false):
                    // A message of the run deleted with a 200 before (kept, and delivered again; or redelivered, and
                    // its late delete answered too): delivered once, counted once.
                    break;
                case (var refused and (404 or 409), _):
                    Ledger.AcknowledgementRefused(seq, refused);
                    break;
            }
        }

        AddDelivered(ok);
    }

    public void Dispose()
    {
        _afterInterrupt.Dispose();
        Client.Dispose();
        Hard.Dispose();
    }
}
