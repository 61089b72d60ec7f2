namespace WonderQ.Shared.Web;

/// <summary>
/// Something the operator has to fix before an app can start (a setting, a file, a port): <see cref="WebConventions.Run"/>
/// says its message, which names the setting and what to do, in one line instead of a stack trace.
/// </summary>
public class StartRefusedException(string message, Exception? inner = null) : Exception(message, inner);
