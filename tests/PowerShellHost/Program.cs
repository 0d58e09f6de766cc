using System.Globalization;
using System.Management.Automation;
using System.Management.Automation.Host;
using System.Management.Automation.Runspaces;

// PowerShellHost SCRIPT [ARGS...]: runs a script file as `pwsh -File SCRIPT ARGS` would, and exits
// with its exit code. PowerShell's engine (System.Management.Automation) with its core commands; what
// the script writes to the host (Write-Host, Out-Host) goes to standard output. Of the commands in
// PowerShell's own modules, which the engine's package does not carry, workshop.ps1 uses two:
// stand-ins below do what their documentation says, for the arguments a script passes them here.
if (args.Length == 0)
{
    Console.Error.WriteLine("usage: PowerShellHost SCRIPT [ARGS...]");
    return 2;
}

var session = InitialSessionState.CreateDefault2();
// Join-Path (Microsoft.PowerShell.Management): a path and a child path, joined.
session.Commands.Add(new SessionStateFunctionEntry("Join-Path", """
    param([Parameter(Mandatory, Position = 0)][string] $Path, [Parameter(Mandatory, Position = 1)][string] $ChildPath)
    [System.IO.Path]::Combine($Path, $ChildPath)
    """));
// Write-Host (Microsoft.PowerShell.Utility): each object, also each one piped in, written to the host.
session.Commands.Add(new SessionStateFunctionEntry("Write-Host", """
    param([Parameter(Position = 0, ValueFromPipeline)] $Object)
    process { $Host.UI.WriteLine([string] $Object) }
    """));

using var runspace = RunspaceFactory.CreateRunspace(new PlainHost(), session);
runspace.Open();
using var shell = PowerShell.Create(runspace);
shell.AddCommand(Path.GetFullPath(args[0]));
foreach (var argument in args[1..])
{
    shell.AddArgument(argument);
}

// What the script outputs, as it outputs it (a long-running command's lines as they come).
var output = new PSDataCollection<PSObject>();
output.DataAdded += (_, added) => Console.WriteLine(output[added.Index]);
shell.Streams.Error.DataAdded += (_, added) => Console.Error.WriteLine(shell.Streams.Error[added.Index]);
try
{
    shell.Invoke(null, output);
}
catch (RuntimeException error)
{
    // A terminating error: pwsh -File prints it and exits with 1.
    Console.Error.WriteLine(error.ErrorRecord);
    return 1;
}

shell.Commands.Clear();
var exitCode = shell.AddScript("$LASTEXITCODE").Invoke().FirstOrDefault()?.BaseObject;
return exitCode is int code ? code : shell.HadErrors ? 1 : 0;

/// <summary>A host whose user interface is standard output and standard error, and asks nothing.</summary>
internal sealed class PlainHost : PSHost
{
    public override string Name => "PowerShellHost";
    public override Version Version => new(1, 0);
    public override Guid InstanceId { get; } = Guid.NewGuid();
    public override PSHostUserInterface UI { get; } = new PlainUserInterface();
    public override CultureInfo CurrentCulture => CultureInfo.InvariantCulture;
    public override CultureInfo CurrentUICulture => CultureInfo.InvariantCulture;
    public override void SetShouldExit(int exitCode) { }
    public override void EnterNestedPrompt() => throw new NotSupportedException();
    public override void ExitNestedPrompt() => throw new NotSupportedException();
    public override void NotifyBeginApplication() { }
    public override void NotifyEndApplication() { }
}

internal sealed class PlainUserInterface : PSHostUserInterface
{
    public override PSHostRawUserInterface? RawUI => null;
    public override void Write(string value) => Console.Write(value);
    public override void Write(ConsoleColor foregroundColor, ConsoleColor backgroundColor, string value) => Console.Write(value);
    public override void WriteLine(string value) => Console.WriteLine(value);
    public override void WriteErrorLine(string value) => Console.Error.WriteLine(value);
    public override void WriteDebugLine(string message) => Console.Error.WriteLine($"DEBUG: {message}");
    public override void WriteVerboseLine(string message) => Console.Error.WriteLine($"VERBOSE: {message}");
    public override void WriteWarningLine(string message) => Console.Error.WriteLine($"WARNING: {message}");
    public override void WriteProgress(long sourceId, ProgressRecord record) { }
    public override string ReadLine() => Console.ReadLine() ?? "";
    public override System.Security.SecureString ReadLineAsSecureString() => throw new NotSupportedException();
    public override Dictionary<string, PSObject> Prompt(string caption, string message, System.Collections.ObjectModel.Collection<FieldDescription> descriptions) =>
        throw new NotSupportedException();
    public override PSCredential PromptForCredential(string caption, string message, string userName, string targetName) =>
        throw new NotSupportedException();
    public override PSCredential PromptForCredential(
        string caption, string message, string userName, string targetName, PSCredentialTypes allowedCredentialTypes, PSCredentialUIOptions options) =>
        throw new NotSupportedException();
    public override int PromptForChoice(string caption, string message, System.Collections.ObjectModel.Collection<ChoiceDescription> choices, int defaultChoice) =>
        throw new NotSupportedException();
}
