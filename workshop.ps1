# The workshop command in PowerShell: ./workshop.ps1 list | up NN | check NN | load NN | chaos NN | reset NN | diff NN MM | doctor
$ErrorActionPreference = 'Stop'
$tool = Join-Path $PSScriptRoot 'tools/Workshop'
# Errors are one line on standard error and exit code 1, as from ./workshop. Write-Error would throw
# here ('Stop' above): an error record of several lines in Windows PowerShell 5.1, and no `exit 1`.
if (-not (Get-Command dotnet -ErrorAction SilentlyContinue)) {
    [Console]::Error.WriteLine('workshop: the .NET SDK is not installed: https://dotnet.microsoft.com/download/dotnet/10.0')
    exit 1
}
# Silent unless the build fails: `dotnet build` prints a summary of its own even at this verbosity.
dotnet msbuild (Join-Path $tool 'Workshop.csproj') -restore -p:Configuration=Release -nologo -v:quiet '-clp:ErrorsOnly;NoSummary' | Write-Host
if ($LASTEXITCODE -ne 0) { [Console]::Error.WriteLine('workshop: could not build tools/Workshop'); exit 1 }
# The commands the tool's messages suggest start with this; the session's variable is put back after.
$command = $env:WORKSHOP_COMMAND
$env:WORKSHOP_COMMAND = './workshop.ps1'
try { dotnet (Join-Path $tool 'bin/Release/net10.0/Workshop.dll') @args }
finally { $env:WORKSHOP_COMMAND = $command }
exit $LASTEXITCODE
