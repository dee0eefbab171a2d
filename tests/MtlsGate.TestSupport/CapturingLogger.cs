using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace MtlsGate.Tests.TestSupport;

/// <summary>Captures every log event (category, event name, rendered message) for assertions.</summary>
public sealed class CapturingLoggerProvider : ILoggerProvider
{
    public ConcurrentQueue<(string Category, string? EventName, string Message)> Events { get; } = new();

    public ILogger CreateLogger(string categoryName) => new Logger(categoryName, Events);

    public void Dispose()
    {
    }

    private sealed class Logger(string category, ConcurrentQueue<(string, string?, string)> events) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            events.Enqueue((category, eventId.Name, formatter(state, exception)));
    }
}
