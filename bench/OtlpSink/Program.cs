// An OTLP/HTTP trace receiver for bench/chain.sh: the tests' stand-in (it decodes every span the
// services export, as Jaeger would, and answers 200), keeping none, only counting. Every 100 ms and at
// the end it writes the number of spans received so far to the file given, one number.
//
// Usage: dotnet bench/OtlpSink/bin/Release/net10.0/OtlpSink.dll <port> <count-file>
using System.Globalization;
using Workshop.Testing.Otlp;

if (args.Length != 2 || !int.TryParse(args[0], CultureInfo.InvariantCulture, out var port))
{
    Console.Error.WriteLine("usage: OtlpSink <port> <count-file>");
    return 2;
}

var countFile = args[1];
await using var receiver = await OtlpStandIn.StartAsync(port, keepSpans: false);
Console.WriteLine($"OTLP receiver on {receiver.BaseAddress}, counting spans into {countFile}");

using var stop = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) => { e.Cancel = true; stop.Cancel(); };
using var sigterm = System.Runtime.InteropServices.PosixSignalRegistration.Create(
    System.Runtime.InteropServices.PosixSignal.SIGTERM, context => { context.Cancel = true; stop.Cancel(); });

void Write() => File.WriteAllText(countFile, receiver.SpanCount.ToString(CultureInfo.InvariantCulture));
using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(100));
try
{
    while (await timer.WaitForNextTickAsync(stop.Token))
    {
        Write();
    }
}
catch (OperationCanceledException)
{
}

Write();
return 0;
