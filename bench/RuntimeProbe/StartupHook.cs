using System.Runtime;

// The runtime calls StartupHook.Initialize before the app's Main when DOTNET_STARTUP_HOOKS names this
// assembly. The type must be called StartupHook and sit outside any namespace.
// Every 50 ms it writes to the file named by BENCH_PROBE_FILE, as one line: the bytes the process has
// allocated so far, its gen0, gen1 and gen2 collections, the milliseconds it has spent compiling
// code (the JIT), and the methods compiled, e.g. "123456789 12 3 0 9302 6394". bench/run.sh reads
// it before and after each measurement.
internal static class StartupHook
{
    public static void Initialize()
    {
        var path = Environment.GetEnvironmentVariable("BENCH_PROBE_FILE");
        if (string.IsNullOrEmpty(path))
        {
            return;
        }

        var scratch = path + ".writing";
        var writer = new Thread(() =>
        {
            while (true)
            {
                // Written aside and renamed over, so that a reader never sees half a line.
                File.WriteAllText(scratch,
                    $"{GC.GetTotalAllocatedBytes()} {GC.CollectionCount(0)} {GC.CollectionCount(1)} {GC.CollectionCount(2)} " +
                    $"{(long)JitInfo.GetCompilationTime().TotalMilliseconds} {JitInfo.GetCompiledMethodCount()}\n");
                File.Move(scratch, path, overwrite: true);
                Thread.Sleep(50);
            }
        })
        {
            IsBackground = true,
            Name = "bench runtime probe",
        };
        writer.Start();
    }
}
