#!/usr/bin/env pwsh
# Builds WonderQ once, then runs the broker, the dev tool and the user app (by default on 3213, 3210 and 3000, from
# each app's appsettings.json) from the build output. Every log line is prefixed with its app's name; Ctrl-C stops
# all three and waits until they are gone.
# Works in PowerShell 7 (pwsh, any OS) and Windows PowerShell 5.1.
# The database is data\wonderq.db under the repository root; $env:Storage__Sqlite__Path puts it elsewhere, a relative
# path taken from the directory you run this script in (not the broker's build output, its content root).
$ErrorActionPreference = 'Stop'
# As in run.sh: passed on to all three apps, --urls would have them fight for one port; passed to none, ignored.
if ($args.Count -gt 0) {
    [Console]::Error.WriteLine('run.ps1 takes no arguments: set an app''s settings in its appsettings.json or as environment variables, which each app reads ($env:Storage__Sqlite__Path = ''mydata\q.db''), or start that app yourself (README, "Configuration").')
    exit 2
}
$caller = (Get-Location -PSProvider FileSystem).ProviderPath
Set-Location $PSScriptRoot
$root = $PSScriptRoot
$config = 'Release'
$framework = 'net10.0'

# The three apps alone: building the solution's test projects too made a first start take a minute or more, not half of one.
Write-Host "Building WonderQ ($config)..."
# What a build says is shown only when it fails: three "Build succeeded" summaries said nothing.
foreach ($project in 'Broker/WonderQ.Broker.csproj', 'DevTool/WonderQ.DevTool.csproj', 'UserApp/WonderQ.UserApp.csproj') {
    $built = dotnet build $project -c $config --nologo -v quiet 2>&1
    if ($LASTEXITCODE -ne 0) {
        $built | ForEach-Object { Write-Host $_ }
        exit $LASTEXITCODE
    }
}

# One log line per event reads best behind a prefix.
$env:Logging__Console__FormatterName = 'simple'
$env:Logging__Console__FormatterOptions__SingleLine = 'true'

$apps = New-Object System.Collections.ArrayList

# Runs the app's dll with its build output as the content root (so its appsettings.json applies) and the
# repository root as the working directory; its output comes back line by line with the app's name in front.
function Start-App {
    param([string]$Name, [string]$Folder, [string]$Assembly, [string[]]$Arguments = @())

    $out = Join-Path $root (Join-Path $Folder (Join-Path 'bin' (Join-Path $config $framework)))
    $all = @((Join-Path $out "$Assembly.dll"), '--contentRoot', $out) + $Arguments
    $psi = New-Object System.Diagnostics.ProcessStartInfo
    $psi.FileName = 'dotnet'
    # A plain argument string: ProcessStartInfo.ArgumentList does not exist in Windows PowerShell 5.1.
    $psi.Arguments = ($all | ForEach-Object { '"' + $_ + '"' }) -join ' '
    $psi.WorkingDirectory = $root
    $psi.UseShellExecute = $false
    $psi.RedirectStandardOutput = $true
    $psi.RedirectStandardError = $true

    $process = New-Object System.Diagnostics.Process
    $process.StartInfo = $psi
    $print = { if ($null -ne $EventArgs.Data) { [Console]::Out.WriteLine('[' + $Event.MessageData + '] ' + $EventArgs.Data) } }
    $null = Register-ObjectEvent -InputObject $process -EventName OutputDataReceived -Action $print -MessageData $Name
    $null = Register-ObjectEvent -InputObject $process -EventName ErrorDataReceived -Action $print -MessageData $Name
    $null = $process.Start()
    $process.BeginOutputReadLine()
    $process.BeginErrorReadLine()
    $null = $apps.Add([pscustomobject]@{ Name = $Name; Process = $process })
}

function Stop-All {
    Write-Host 'Stopping WonderQ...'
    # Ctrl-C has already reached the apps in this console and they are shutting down gracefully; whatever is
    # still running after 10 s is killed, so nothing is left listening.
    foreach ($app in $apps) {
        if (-not $app.Process.HasExited -and -not $app.Process.WaitForExit(10000)) {
            try { $app.Process.Kill($true) } catch { $app.Process.Kill() }
            $null = $app.Process.WaitForExit(5000)
        }
        # An app's last lines ("Application is shutting down...") can still be on their way from its pipes after it
        # exits: only the overload without a timeout waits until they have been read. The apps start no processes of
        # their own that could hold the pipes open.
        if ($app.Process.HasExited) { $app.Process.WaitForExit() }
    }
    # Every line read is now queued as an event; sleeping lets PowerShell print them before they are unsubscribed.
    Start-Sleep -Milliseconds 200
    Get-EventSubscriber | Unregister-Event
    Write-Host 'WonderQ stopped.'
}

$storage = if ($env:Storage__Sqlite__Path) { $env:Storage__Sqlite__Path } else { Join-Path $root (Join-Path 'data' 'wonderq.db') }
# Taken from where you run this, unless absolute; SQLite's :memory: and file: URIs go to the broker as given, to be refused.
if (-not ([System.IO.Path]::IsPathRooted($storage) -or $storage -eq ':memory:' -or $storage.StartsWith('file:'))) { $storage = Join-Path $caller $storage }
# As run.sh ends: 130 after Ctrl-C, 1 when an app exited on its own; unset while starting, so a failure there is PowerShell's.
$status = $null
try {
    Start-App -Name 'broker' -Folder 'Broker' -Assembly 'WonderQ.Broker' -Arguments @("--Storage:Sqlite:Path=$storage")
    if (Test-Path (Join-Path $root 'DevTool')) {
        Start-App -Name 'devtool' -Folder 'DevTool' -Assembly 'WonderQ.DevTool'
    }
    Start-App -Name 'userapp' -Folder 'UserApp' -Assembly 'WonderQ.UserApp'
    # Not the addresses: they come from each app's appsettings.json or the environment, and only the apps know them.
    Write-Host "WonderQ is starting: each app logs the address it listens on ('Now listening on: ...'). Ctrl-C stops all."

    # Runs until Ctrl-C, or until one app exits on its own (a port already in use, say): then the others stop too.
    $status = 130
    while ($true) {
        $exited = $apps | Where-Object { $_.Process.HasExited } | Select-Object -First 1
        if ($exited) {
            Write-Host "[$($exited.Name)] exited with status $($exited.Process.ExitCode); stopping the others."
            foreach ($app in $apps) {
                if (-not $app.Process.HasExited) {
                    try { $app.Process.Kill($true) } catch { $app.Process.Kill() }
                }
            }
            $status = 1
            break
        }
        # Sleeping lets PowerShell run the output events in between.
        Start-Sleep -Milliseconds 200
    }
}
finally {
    Stop-All
    if ($null -ne $status) { exit $status }
}
