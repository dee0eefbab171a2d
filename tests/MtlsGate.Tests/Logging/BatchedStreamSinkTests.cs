using System.Text;
using MtlsGate.Logging;
using Serilog.Events;
using Serilog.Formatting.Display;
using Serilog.Parsing;

namespace MtlsGate.Tests.Logging;

public sealed class BatchedStreamSinkTests
{
    private static readonly MessageTemplateTextFormatter Text = new(LoggingSetup.TextTemplate, System.Globalization.CultureInfo.InvariantCulture);

    private static LogEvent Event(int n) => new(
        DateTimeOffset.UtcNow, LogEventLevel.Information, null,
        new MessageTemplateParser().Parse("line {N} é"),
        [new LogEventProperty("N", new ScalarValue(n)), new LogEventProperty("SourceContext", new ScalarValue("Test"))]);

    [Fact]
    public void EveryQueuedEvent_IsWrittenInOrderAsUtf8_ByTheTimeTheSinkIsDisposed()
    {
        using var output = new MemoryStream();
        var sink = new BatchedStreamSink(Text, output);

        for (var i = 0; i < 5000; i++)
        {
            sink.Emit(Event(i));
        }

        sink.Dispose();

        var lines = Encoding.UTF8.GetString(output.ToArray()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(5000, lines.Length);
        Assert.All(lines.Select((line, i) => (line, i)), x => Assert.EndsWith($"Test: line {x.i} é", x.line, StringComparison.Ordinal));
        Assert.Equal(0, sink.Dropped);
    }

    [Fact]
    public async Task WhenTheOutputCannotKeepUp_EventsBeyondTheQueueAreCountedNotBlocking_AndTheCountIsLoggedAsAWarning()
    {
        using var output = new GatedStream();
        var sink = new BatchedStreamSink(Text, output, capacity: 10);

        // The first event reaches the writer, which then blocks on the gated stream; the queue fills.
        sink.Emit(Event(0));
        await output.FirstWrite.WaitAsync(TimeSpan.FromSeconds(10));
        var emitting = Task.Run(() =>
        {
            for (var i = 1; i <= 100; i++)
            {
                sink.Emit(Event(i));
            }
        });
        await emitting.WaitAsync(TimeSpan.FromSeconds(10));
        output.Open();
        sink.Dispose();

        Assert.Equal(90, sink.Dropped);
        var text = Encoding.UTF8.GetString(output.ToArray());
        Assert.Equal(11, text.Split('\n').Count(l => l.Contains("line ", StringComparison.Ordinal)));
        Assert.Contains("WRN] MtlsGate.Logging: 90 log event(s) dropped", text, StringComparison.Ordinal);
    }

    [Fact]
    public void AClosedOutput_StopsTheWriterQuietly_AndEmitNeverThrows()
    {
        var output = new MemoryStream();
        var sink = new BatchedStreamSink(Text, output);
        output.Dispose();

        for (var i = 0; i < 100; i++)
        {
            sink.Emit(Event(i));
        }

        sink.Dispose();
    }

    /// <summary>A stream whose writes block until opened; signals the first write.</summary>
    private sealed class GatedStream : MemoryStream
    {
        private readonly ManualResetEventSlim _open = new(false);
        private readonly TaskCompletionSource _first = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task FirstWrite => _first.Task;

        public void Open() => _open.Set();

        public override void Write(byte[] buffer, int offset, int count)
        {
            _first.TrySetResult();
            _open.Wait(TimeSpan.FromSeconds(30));
            base.Write(buffer, offset, count);
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _open.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
