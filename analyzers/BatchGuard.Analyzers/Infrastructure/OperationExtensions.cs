using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Operations;

namespace BatchGuard.Analyzers;

internal static class OperationExtensions
{
    /// <summary>Strips implicit and explicit conversions and parentheses: <c>(object)(x)</c> → <c>x</c>.</summary>
    public static IOperation WalkDownConversions(this IOperation operation)
    {
        while (true)
        {
            switch (operation)
            {
                case IConversionOperation conversion:
                    operation = conversion.Operand;
                    continue;
                case IParenthesizedOperation parenthesized:
                    operation = parenthesized.Operand;
                    continue;
                default:
                    return operation;
            }
        }
    }

    /// <summary>The argument bound to the parameter named <paramref name="name"/>, if one was written (not defaulted).</summary>
    public static IArgumentOperation? ExplicitArgument(this IInvocationOperation invocation, string name) =>
        FindArgument(invocation.Arguments, name);

    /// <inheritdoc cref="ExplicitArgument(IInvocationOperation, string)"/>
    public static IArgumentOperation? ExplicitArgument(this IObjectCreationOperation creation, string name) =>
        FindArgument(creation.Arguments, name);

    private static IArgumentOperation? FindArgument(System.Collections.Immutable.ImmutableArray<IArgumentOperation> arguments, string name)
    {
        foreach (var argument in arguments)
        {
            if (argument.Parameter?.Name == name && argument.ArgumentKind != ArgumentKind.DefaultValue) return argument;
        }
        return null;
    }
}
