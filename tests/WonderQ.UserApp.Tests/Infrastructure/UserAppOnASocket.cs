using Microsoft.AspNetCore.Builder;

namespace WonderQ.UserApp.Tests.Infrastructure;

/// <summary>The UserApp on a real socket in front of a real broker, for what only a real server shows (HEAD, say).</summary>
public sealed class UserAppOnASocket() : FrontedApp([], [])
{
    protected override WebApplication CreateApp(string[] args) => Program.CreateApp(args);
}
