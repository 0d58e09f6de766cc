using Workshop;
using Workshop.Commands;
using Workshop.Steps;

// workshop list | up NN [--fresh] | check NN | load NN ... | chaos NN ... | reset NN [--yes] | diff NN MM [--names] | doctor
// Before anything calls a service: a web proxy in the environment must not get this machine's calls.
LocalhostProxy.Bypass();
try
{
    return args switch
    {
        [] or ["help" or "--help" or "-h"] => Usage(),
        ["list"] => ListCommand.Run(StepCatalog.Load(StepCatalog.FindRoot())),
        ["up", var step, .. var options] => await UpCommand.RunAsync(FindStep(step), Flags(options, "--fresh")),
        ["check", var step] => await CheckCommand.RunAsync(FindStep(step)),
        ["chaos", var step, .. var words] => await ChaosCommand.RunAsync(FindStep(step), StepCatalog.Load(StepCatalog.FindRoot()), words),
        ["load", var step, .. var words] => await LoadCommand.RunAsync(FindStep(step), StepCatalog.Load(StepCatalog.FindRoot()), words),
        ["reset", var step, .. var options] => ResetCommand.Run(FindStep(step), Flags(options, "--yes")),
        ["diff", var from, var to, .. var options] => DiffCommand.Run(FindStep(from), FindStep(to), Flags(options, "--names")),
        ["doctor"] => await DoctorCommand.RunAsync(),
        [var command, ..] when Form(command) is { } form =>
            throw new UserError($"wrong arguments for '{command}': {Ui.Command} {form} (see: {Ui.Command} help)"),
        [var command, ..] => throw new UserError($"unknown command '{command}' (see: {Ui.Command} help)"),
    };
}
catch (UserError e)
{
    Ui.Error(e.Message);
    return 1;
}

static Step FindStep(string name)
{
    var steps = StepCatalog.Load(StepCatalog.FindRoot());
    return StepCatalog.Find(steps, name)
        ?? throw new UserError($"unknown step '{name}': choose one of {string.Join(", ", steps.Select(s => s.Folder[..2]))} (see: {Ui.Command} list)");
}

static bool Flags(string[] options, string allowed)
{
    var unknown = options.FirstOrDefault(o => o != allowed);
    return unknown is null ? options.Length > 0 : throw new UserError($"unknown option '{unknown}' (see: {Ui.Command} help)");
}

// How each command is written, for the error that a command written otherwise gets.
static string? Form(string command) => command switch
{
    "list" => "list",
    "up" => "up NN [--fresh]",
    "check" => "check NN",
    "chaos" => ChaosCommand.Form,
    "load" => LoadCommand.Form,
    "reset" => "reset NN [--yes]",
    "diff" => "diff NN MM [--names]",
    "doctor" => "doctor",
    _ => null,
};

static int Usage()
{
    Console.WriteLine("""
        workshop: run and check the steps of the microservices workshop

          workshop list                 the steps, one line each
          workshop up NN [--fresh]      build step NN and run its services locally (Ctrl-C stops them),
                                        and the infrastructure it needs where its program is installed;
                                        --fresh starts from empty databases; while it runs, type
                                        stop, start, restart, pause or resume and a service's name,
                                        or status
          workshop check NN             run the README's "Try it" commands against the running step
          workshop load NN [rate N] [for S] [count N] [mix R:W:A]
                                        steady traffic through the running step's gateway: rate
                                        requests a second (20), for at most S seconds (60) or N
                                        requests, reads:writes:aggregations (6:3:1); a line each
                                        second, a report at the end; Ctrl-C ends it early
          workshop chaos NN [fail RATE] [slow MS] [off] [--port PORT]
                                        step 07's fault switch on every accounts instance of the
                                        running step (or the one on PORT): fail 0.5 fails half the
                                        requests, slow 2000 adds 2 s to each, off ends both; with
                                        nothing after NN, shows the switches
          workshop reset NN [--yes]     remove step NN's local data (its services' databases, what its
                                        infrastructure keeps in data/) so that a demo starts clean;
                                        asks first, unless --yes; the step must be stopped
          workshop diff NN MM [--names] what step MM changed relative to step NN (the lesson)
          workshop doctor               check this machine: .NET SDK, curl, Docker, web proxy, free ports,
                                        the programs of the steps' infrastructure

        NN is a step number (3 or 03) or its folder name (03-api-gateway).
        """);
    return 0;
}
