using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Operations;

namespace BatchGuard.Analyzers.Optimization;

/// <summary>
/// Every value stored into the variable an optimizer is read from (<c>optimizer.step()</c>'s receiver), when all of
/// them can be seen: a local in the same body, or a private/readonly field or property whose type is declared in
/// this one file (typically assigned in the constructor). Default (unknown) otherwise.
/// </summary>
internal static class OptimizerAssignments
{
    public static ImmutableArray<IOperation> Find(IOperation receiver, SemanticModel? model, CancellationToken ct)
    {
        var values = Find(receiver, model, ct, depth: 0);
        if (values.IsDefaultOrEmpty || model is null) return values;
        // A factory of the user's (`optim.Optimizer MakeOptimizer(...) => optim.Adam(...)`): what it returns.
        var expanded = ImmutableArray.CreateBuilder<IOperation>(values.Length);
        foreach (var value in values)
        {
            if (value.WalkDownConversions() is IInvocationOperation call && Returned(call.TargetMethod, model, ct) is { IsDefaultOrEmpty: false } returned)
                expanded.AddRange(returned);
            else
                expanded.Add(value);
        }
        return expanded.ToImmutable();
    }

    /// <summary>
    /// What a method of this file returns: its expression body, or the value of each <c>return</c> of its block (not
    /// those of lambdas or local functions inside it), each followed through locals of its body. Default when the method
    /// is not an ordinary non-virtual method declared once in this file, or a return's value cannot be read.
    /// </summary>
    private static ImmutableArray<IOperation> Returned(IMethodSymbol method, SemanticModel model, CancellationToken ct)
    {
        if (method.MethodKind != MethodKind.Ordinary || method.IsVirtual || method.IsAbstract || method.IsOverride || method.IsExtern) return default;
        var references = method.DeclaringSyntaxReferences;
        if (references.Length != 1 || references[0].SyntaxTree != model.SyntaxTree) return default;
        if (references[0].GetSyntax(ct) is not MethodDeclarationSyntax declaration) return default;
        var expressions = new List<ExpressionSyntax>();
        if (declaration.ExpressionBody is { } arrow)
        {
            expressions.Add(arrow.Expression);
        }
        else if (declaration.Body is { } body)
        {
            foreach (var node in body.DescendantNodes(n => n is not (AnonymousFunctionExpressionSyntax or LocalFunctionStatementSyntax)))
            {
                if (node is ReturnStatementSyntax returned)
                {
                    if (returned.Expression is null) return default;
                    expressions.Add(returned.Expression);
                }
                else if (node is YieldStatementSyntax) return default;
            }
        }
        if (expressions.Count == 0) return default;
        var values = ImmutableArray.CreateBuilder<IOperation>();
        foreach (var expression in expressions)
        {
            if (model.GetOperation(expression, ct) is not { } value) return default;
            value = value.WalkDownConversions();
            if (value is ILocalReferenceOperation)
            {
                var assigned = Find(value, model, ct, depth: MaxCallerDepth);
                if (assigned.IsDefaultOrEmpty) return default;
                values.AddRange(assigned);
            }
            else
            {
                values.Add(value);
            }
        }
        return values.ToImmutable();
    }

    private static ImmutableArray<IOperation> Find(IOperation receiver, SemanticModel? model, CancellationToken ct, int depth) => receiver switch
    {
        ILocalReferenceOperation local => InBody(receiver, local.Local),
        _ when model is null => default,
        // A private training method given the optimizer (`Train(model, optimizer, ...)`): what its callers pass.
        IParameterReferenceOperation { Parameter: { RefKind: RefKind.None, ContainingSymbol: IMethodSymbol { MethodKind: MethodKind.Ordinary, DeclaredAccessibility: Accessibility.Private } method } parameter }
            when depth < MaxCallerDepth => FromCallers(method, parameter, model, ct, depth),
        IFieldReferenceOperation { Field: var field } when field.DeclaredAccessibility == Accessibility.Private || field.IsReadOnly =>
            InContainingType(field, model, ct),
        // Only a property no other code can set (an init accessor is set by object initializers and `with` anywhere) and
        // no subclass can override.
        IPropertyReferenceOperation { Property: var property } when !property.IsVirtual && !property.IsAbstract && !property.IsOverride &&
            (property.DeclaredAccessibility == Accessibility.Private || property.SetMethod is null or { DeclaredAccessibility: Accessibility.Private }) =>
            InContainingType(property, model, ct),
        _ => default,
    };

    /// <summary>How many calls up a parameter is followed (a private method called by a private method ...).</summary>
    private const int MaxCallerDepth = 3;

    /// <summary>
    /// The values a private method's callers pass for its parameter, followed to what they were assigned, when every
    /// call can be seen (the method's type declared in this one file) and the method is only called, never used as a
    /// method group. Default (unknown) otherwise, or when it is not called at all.
    /// </summary>
    private static ImmutableArray<IOperation> FromCallers(IMethodSymbol method, IParameterSymbol parameter, SemanticModel model, CancellationToken ct, int depth)
    {
        var declarations = method.ContainingType.DeclaringSyntaxReferences;
        if (declarations.IsEmpty || declarations.Any(d => d.SyntaxTree != model.SyntaxTree)) return default;
        if (IsWrittenInItsMethod(method, parameter, model, ct)) return default;
        var values = ImmutableArray.CreateBuilder<IOperation>();
        foreach (var declaration in declarations)
        {
            foreach (var name in NameOccurrences(declaration.GetSyntax(ct), method.Name, ct))
            {
                SyntaxNode used = name.Parent is MemberAccessExpressionSyntax access && access.Name == name ? access : name;
                if (used.Parent is not InvocationExpressionSyntax invocation || invocation.Expression != used) return default;
                if (model.GetOperation(invocation, ct) is not IInvocationOperation call) return default;
                if (!SymbolEqualityComparer.Default.Equals(call.TargetMethod.OriginalDefinition, method.OriginalDefinition)) continue;
                var argument = call.Arguments.FirstOrDefault(a => SymbolEqualityComparer.Default.Equals(a.Parameter?.OriginalDefinition, parameter.OriginalDefinition));
                if (argument is null || argument.ArgumentKind != ArgumentKind.Explicit) return default;
                var value = argument.Value.WalkDownConversions();
                if (value is ILocalReferenceOperation or IParameterReferenceOperation or IFieldReferenceOperation or IPropertyReferenceOperation)
                {
                    var assigned = Find(value, model, ct, depth + 1);
                    if (assigned.IsDefaultOrEmpty) return default;
                    values.AddRange(assigned);
                }
                else
                {
                    values.Add(value);
                }
            }
        }
        return values.Count > 0 ? values.ToImmutable() : default;
    }

    /// <summary>Whether the method body assigns the parameter (`optimizer = ...`, `ref optimizer`, a deconstruction), lambdas included.</summary>
    private static bool IsWrittenInItsMethod(IMethodSymbol method, IParameterSymbol parameter, SemanticModel model, CancellationToken ct)
    {
        if (method.DeclaringSyntaxReferences.Length != 1 || model.GetOperation(method.DeclaringSyntaxReferences[0].GetSyntax(ct), ct) is not { } body) return true;
        foreach (var operation in body.DescendantsAndSelf())
        {
            if (operation is IParameterReferenceOperation read && SymbolEqualityComparer.Default.Equals(read.Parameter, parameter) &&
                (read.Parent is IAssignmentOperation assignment && ReferenceEquals(assignment.Target, read) ||
                 read.Parent is IArgumentOperation { Parameter.RefKind: RefKind.Ref or RefKind.Out } ||
                 read.Parent is ITupleOperation))
                return true;
        }
        return false;
    }

    /// <summary>The identifier names spelled <paramref name="name"/> in a declaration, found from its text (as <see cref="Candidates"/>).</summary>
    private static IEnumerable<SimpleNameSyntax> NameOccurrences(SyntaxNode declaration, string name, CancellationToken ct)
    {
        var text = declaration.SyntaxTree.GetText(ct).ToString(declaration.Span);
        if (text.IndexOf("\\u", StringComparison.OrdinalIgnoreCase) >= 0)
        {
            foreach (var node in declaration.DescendantNodes())
            {
                if (node is SimpleNameSyntax simple && simple.Identifier.ValueText == name) yield return simple;
            }
            yield break;
        }
        for (var at = text.IndexOf(name, StringComparison.Ordinal); at >= 0; at = text.IndexOf(name, at + name.Length, StringComparison.Ordinal))
        {
            var token = declaration.FindToken(declaration.SpanStart + at);
            if (!token.IsKind(SyntaxKind.IdentifierToken) || token.ValueText != name) continue;
            if (token.Parent is SimpleNameSyntax simple) yield return simple;
        }
    }

    private static ImmutableArray<IOperation> InBody(IOperation anyOperationInBody, ILocalSymbol local)
    {
        var root = anyOperationInBody;
        while (root.Parent is not null) root = root.Parent;

        var values = ImmutableArray.CreateBuilder<IOperation>();
        foreach (var operation in root.DescendantsAndSelf())
        {
            switch (operation)
            {
                case IVariableDeclaratorOperation { Initializer.Value: { } value } declarator when SymbolEqualityComparer.Default.Equals(declarator.Symbol, local):
                    values.Add(value);
                    break;
                case ISimpleAssignmentOperation { Target: ILocalReferenceOperation target } assignment when SymbolEqualityComparer.Default.Equals(target.Local, local):
                    values.Add(assignment.Value);
                    break;
                // Written where no value can be read off: by a call (out/ref) or a deconstruction. Unknown.
                case IArgumentOperation { Parameter.RefKind: RefKind.Out or RefKind.Ref, Value: ILocalReferenceOperation byRef } when SymbolEqualityComparer.Default.Equals(byRef.Local, local):
                case IArgumentOperation { Parameter.RefKind: RefKind.Out, Value: IDeclarationExpressionOperation { Expression: ILocalReferenceOperation declared } } when SymbolEqualityComparer.Default.Equals(declared.Local, local):
                case IDeconstructionAssignmentOperation deconstruction when deconstruction.Target.DescendantsAndSelf()
                    .Any(t => t is ILocalReferenceOperation part && SymbolEqualityComparer.Default.Equals(part.Local, local)):
                    return default;
            }
        }
        return values.ToImmutable();
    }

    private static ImmutableArray<IOperation> InContainingType(ISymbol member, SemanticModel model, CancellationToken ct)
    {
        var declarations = member.ContainingType.DeclaringSyntaxReferences;
        if (declarations.IsEmpty || declarations.Any(d => d.SyntaxTree != model.SyntaxTree)) return default;

        var name = member.Name;
        var values = ImmutableArray.CreateBuilder<IOperation>();
        foreach (var declaration in declarations)
        {
            if (Candidates(declaration.GetSyntax(ct), name, ct) is not { } candidates) return default;
            foreach (var node in candidates)
            {
                // Syntax first (the member's name), binding only for the few candidates.
                IOperation? value = node switch
                {
                    VariableDeclaratorSyntax { Initializer.Value: { } initializer } declarator when declarator.Identifier.ValueText == name &&
                        SymbolEqualityComparer.Default.Equals(model.GetDeclaredSymbol(declarator, ct), member) => model.GetOperation(initializer, ct),
                    PropertyDeclarationSyntax { Initializer.Value: { } initializer } property when property.Identifier.ValueText == name &&
                        SymbolEqualityComparer.Default.Equals(model.GetDeclaredSymbol(property, ct), member) => model.GetOperation(initializer, ct),
                    AssignmentExpressionSyntax { Left: var left } assignment when AssignedName(left) == name &&
                        model.GetOperation(assignment, ct) is ISimpleAssignmentOperation { Target: var target } simple &&
                        SymbolEqualityComparer.Default.Equals(Member(target), member) => simple.Value,
                    _ => null,
                };
                if (value is not null) values.Add(value);
            }
        }
        return values.ToImmutable();
    }

    /// <summary>
    /// The nodes of <paramref name="declaration"/> that may store into a member named <paramref name="name"/>, in
    /// document order: its declarators, property declarations, and assignments to <c>name</c> or <c>this.name</c>.
    /// Found from the text (the name is rare in a type's text) instead of a walk over every node of the type; text
    /// with a \u escape, which can spell an identifier differently, falls back to the walk. Null when the name is
    /// written where no value can be read off (an out or ref argument, a deconstruction).
    /// </summary>
    private static IEnumerable<SyntaxNode>? Candidates(SyntaxNode declaration, string name, CancellationToken ct)
    {
        var text = declaration.SyntaxTree.GetText(ct).ToString(declaration.Span);
        if (text.IndexOf("\\u", StringComparison.OrdinalIgnoreCase) >= 0)
        {
            var nodes = declaration.DescendantNodes().ToList();
            return nodes.Any(n => n is IdentifierNameSyntax identifier && identifier.Identifier.ValueText == name && IsWrittenWithoutValue(identifier)) ? null : nodes;
        }
        var candidates = new List<SyntaxNode>();
        for (var at = text.IndexOf(name, StringComparison.Ordinal); at >= 0; at = text.IndexOf(name, at + name.Length, StringComparison.Ordinal))
        {
            var token = declaration.FindToken(declaration.SpanStart + at);
            if (!token.IsKind(SyntaxKind.IdentifierToken) || token.ValueText != name) continue;
            if (token.Parent is IdentifierNameSyntax written && IsWrittenWithoutValue(written)) return null;
            var candidate = token.Parent switch
            {
                VariableDeclaratorSyntax or PropertyDeclarationSyntax => token.Parent,
                IdentifierNameSyntax { Parent: AssignmentExpressionSyntax assignment } identifier when assignment.Left == identifier => assignment,
                IdentifierNameSyntax { Parent: MemberAccessExpressionSyntax { Expression: ThisExpressionSyntax, Parent: AssignmentExpressionSyntax assignment } access } identifier
                    when access.Name == identifier && assignment.Left == access => assignment,
                _ => null,
            };
            if (candidate is not null) candidates.Add(candidate);
        }
        return candidates;
    }

    /// <summary>
    /// <c>Make(out _optimizer)</c>, <c>ref _optimizer</c>, <c>(_model, _optimizer) = Build()</c> (also through
    /// <c>this.</c>).
    /// </summary>
    private static bool IsWrittenWithoutValue(IdentifierNameSyntax name)
    {
        SyntaxNode node = name.Parent is MemberAccessExpressionSyntax { Expression: ThisExpressionSyntax } access && access.Name == name ? access : name;
        if (node.Parent is ArgumentSyntax argument)
        {
            if (argument.RefKindKeyword.IsKind(SyntaxKind.OutKeyword) || argument.RefKindKeyword.IsKind(SyntaxKind.RefKeyword)) return true;
            // A part of a tuple that is deconstructed into.
            for (SyntaxNode? tuple = argument.Parent; tuple is TupleExpressionSyntax; tuple = tuple.Parent?.Parent)
            {
                if (tuple.Parent is AssignmentExpressionSyntax assignment && assignment.Left == tuple) return true;
                if (tuple.Parent is not ArgumentSyntax) break;
            }
        }
        return false;
    }

    private static string? AssignedName(ExpressionSyntax left) => left switch
    {
        IdentifierNameSyntax identifier => identifier.Identifier.ValueText,
        MemberAccessExpressionSyntax { Expression: ThisExpressionSyntax, Name: var name } => name.Identifier.ValueText,
        _ => null,
    };

    private static ISymbol? Member(IOperation target) => target switch
    {
        IFieldReferenceOperation field => field.Field,
        IPropertyReferenceOperation property => property.Property,
        _ => null,
    };
}
