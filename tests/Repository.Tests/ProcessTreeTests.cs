using System.Diagnostics;
using Workshop.Steps;

namespace Repository.Tests;

/// <summary>
/// `workshop up` pauses and stops a process together with the processes it started. It finds them in
/// /proc on Linux and with `ps` on macOS; both must find the same tree. Nothing here runs macOS, but
/// Linux's ps takes the same arguments, so the ps path is checked against /proc here.
/// </summary>
public sealed class ProcessTreeTests
{
    [Fact]
    public async Task FromPs_FindsTheSameDescendantsAsFromProc()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "compares ps with /proc, which only Linux has");
        // Two children and a grandchild (": " after sleep keeps the inner shell from replacing itself with sleep).
        var start = new ProcessStartInfo("sh", ["-c", "sleep 60 & sleep 60 & sh -c 'sleep 60; :' & wait"]) { UseShellExecute = false };
        using var shell = Process.Start(start)!;
        try
        {
            List<int> fromProc = [];
            for (var i = 0; i < 100 && fromProc.Count < 5; i++)
            {
                await Task.Delay(50, TestContext.Current.CancellationToken);
                fromProc = ProcessTree.Of(shell.Id, ProcessTree.ParentsFromProc());
            }

            Assert.Equal(5, fromProc.Count);
            Assert.Equal(shell.Id, fromProc[0]);
            Assert.Equal(fromProc.Order(), ProcessTree.Of(shell.Id, ProcessTree.ParentsFromPs()).Order());
        }
        finally
        {
            shell.Kill(entireProcessTree: true);
        }
    }
}
