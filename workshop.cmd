@echo off
rem The workshop command on Windows: workshop list | up NN | check NN | load NN | chaos NN | reset NN | diff NN MM | doctor
setlocal
set "TOOL=%~dp0tools\Workshop"
rem The commands the tool's messages suggest start with this.
set "WORKSHOP_COMMAND=workshop.cmd"
where dotnet >nul 2>nul || (echo workshop: the .NET SDK is not installed: https://dotnet.microsoft.com/download/dotnet/10.0 1>&2 & exit /b 1)
rem Silent unless the build fails: `dotnet build` prints a summary of its own even at this verbosity.
dotnet msbuild "%TOOL%\Workshop.csproj" -restore -p:Configuration=Release -nologo -v:quiet "-clp:ErrorsOnly;NoSummary" 1>&2 || (echo workshop: could not build tools\Workshop 1>&2 & exit /b 1)
dotnet "%TOOL%\bin\Release\net10.0\Workshop.dll" %*
