using System.Collections.Generic;
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

    /// <summary>The innermost lambda or local function around the operation; null in the member body itself.</summary>
    public static IOperation? EnclosingFunction(this IOperation operation)
    {
        for (var current = operation.Parent; current is not null; current = current.Parent)
        {
            if (current is IAnonymousFunctionOperation or ILocalFunctionOperation) return current;
        }
        return null;
    }

    /// <summary>Whether a loop of the same body (not across a lambda or local function) encloses the operation.</summary>
    public static bool IsInALoopOfItsBody(this IOperation operation)
    {
        for (var current = operation.Parent; current is not null; current = current.Parent)
        {
            if (current is IAnonymousFunctionOperation or ILocalFunctionOperation) return false;
            if (current is ILoopOperation) return true;
        }
        return false;
    }

    /// <summary>
    /// The operation and every operation below it, in pre-order (the order of <c>DescendantsAndSelf()</c>), collected
    /// without <c>Descendants()</c>'s enumerator allocation per node: BatchGuard walks whole method bodies, and on a
    /// large solution those allocations show up as garbage-collection time in the user's build.
    /// </summary>
    public static List<IOperation> PreOrder(this IOperation root)
    {
        var result = new List<IOperation>();
        var stack = new Stack<IOperation>();
        stack.Push(root);
        while (stack.Count > 0)
        {
            var operation = stack.Pop();
            result.Add(operation);
            foreach (var child in operation.ChildOperations.Reverse()) stack.Push(child);
        }
        return result;
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
