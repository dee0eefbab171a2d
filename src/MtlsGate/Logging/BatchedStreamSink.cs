using System.Text;
using System.Threading.Channels;
using Serilog.Core;
using Serilog.Events;
using Serilog.Formatting;
using Serilog.Parsing;

namespace MtlsGate.Logging;

/// <summary>
/// The gateway's default log output: events are queued by the request thread (no formatting, no I/O
/// there) and one background loop formats whatever has queued up and writes it to the stream in one
/// write per batch. Replaces Serilog's async wrapper around the console sink, whose blocking queue
/// spins (sched_yield) while idle and whose console writer issues one write per line: both showed in
/// the keep-alive profile. The queue is bounded; when it is full, events are counted instead of
/// blocking requests, and the count is written as a warning once the queue drains.
/// </summary>
public sealed class BatchedStreamSink : ILogEventSink, IDisposable
{
    /// <summary>Queued events at most; the same default as Serilog.Sinks.Async.</summary>
    public const int DefaultCapacity = 10_000;

    private const int FlushBytes = 32 * 1024;
    private static readonly MessageTemplate DroppedTemplate =
        new MessageTemplateParser().Parse("{Dropped} log event(s) dropped: the log output could not keep up");

    private readonly ITextFormatter _formatter;
    private readonly Stream _output;
    private readonly Channel<LogEvent> _queue;
    private readonly Task _writer;
    private long _dropped;

    public BatchedStreamSink(ITextFormatter formatter, Stream output, int capacity = DefaultCapacity)
    {
        ArgumentNullException.ThrowIfNull(formatter);
        ArgumentNullException.ThrowIfNull(output);
        _formatter = formatter;
        _output = output;
        _queue = Channel.CreateBounded<LogEvent>(new BoundedChannelOptions(capacity)
        {
            SingleReader = true,
            // Wait mode: TryWrite answers false when full (DropWrite would answer true and drop silently).
            FullMode = BoundedChannelFullMode.Wait,
        });
        _writer = Task.Run(WriteLoopAsync);
    }

    /// <summary>Events dropped because the queue was full (since start).</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    public void Emit(LogEvent logEvent)
    {
        if (!_queue.Writer.TryWrite(logEvent))
        {
            Interlocked.Increment(ref _dropped);
        }
    }

    /// <summary>Writes what is queued and stops the loop (host shutdown): nothing queued is lost.</summary>
    public void Dispose()
    {
        _queue.Writer.TryComplete();
        _writer.Wait(TimeSpan.FromSeconds(5));
    }

    private async Task WriteLoopAsync()
    {
        var text = new StringWriter(new StringBuilder(FlushBytes), System.Globalization.CultureInfo.InvariantCulture);
        var reportedDrops = 0L;
        try
        {
            while (await _queue.Reader.WaitToReadAsync().ConfigureAwait(false))
            {
                while (_queue.Reader.TryRead(out var logEvent))
                {
                    Format(logEvent, text);
                    if (text.GetStringBuilder().Length >= FlushBytes)
                    {
                        Write(text);
                    }
                }

                var dropped = Dropped;
                if (dropped != reportedDrops)
                {
                    _formatter.Format(DroppedEvent(dropped - reportedDrops), text);
                    reportedDrops = dropped;
                }

                Write(text);
            }
        }
        catch (IOException)
        {
            // The output is gone (closed pipe): nothing more can be written anywhere.
        }
        catch (ObjectDisposedException)
        {
        }
    }

    /// <summary>One event that cannot be formatted is reported to Serilog's SelfLog and skipped, not the whole output.</summary>
    private void Format(LogEvent logEvent, StringWriter text)
    {
        var length = text.GetStringBuilder().Length;
        try
        {
            _formatter.Format(logEvent, text);
        }
#pragma warning disable CA1031 // a formatter's failure must not stop the log output
        catch (Exception e)
#pragma warning restore CA1031
        {
            text.GetStringBuilder().Length = length;
            Serilog.Debugging.SelfLog.WriteLine("MtlsGate log output: an event could not be formatted: {0}", e);
        }
    }

    private void Write(StringWriter text)
    {
        var builder = text.GetStringBuilder();
        if (builder.Length == 0)
        {
            return;
        }

        foreach (var chunk in builder.GetChunks())
        {
            WriteUtf8(chunk.Span);
        }

        _output.Flush();
        builder.Clear();
    }

    private void WriteUtf8(ReadOnlySpan<char> chars)
    {
        var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(Encoding.UTF8.GetMaxByteCount(chars.Length));
        try
        {
            var length = Encoding.UTF8.GetBytes(chars, buffer);
            _output.Write(buffer, 0, length);
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static LogEvent DroppedEvent(long count) => new(
        DateTimeOffset.Now,
        LogEventLevel.Warning,
        null,
        DroppedTemplate,
        [
            new LogEventProperty("Dropped", new ScalarValue(count)),
            new LogEventProperty("SourceContext", new ScalarValue("MtlsGate.Logging")),
        ]);
}
