// pwsh's own console host, taking pwsh's arguments (-NoProfile -File run.ps1).
return Microsoft.PowerShell.ConsoleShell.Start(null, null, args);
