using System.Collections.Immutable;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
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
    public static ImmutableArray<IOperation> Find(IOperation receiver, SemanticModel? model, CancellationToken ct) => receiver switch
    {
        ILocalReferenceOperation local => InBody(receiver, local.Local),
        _ when model is null => default,
        IFieldReferenceOperation { Field: var field } when field.DeclaredAccessibility == Accessibility.Private || field.IsReadOnly =>
            InContainingType(field, model, ct),
        IPropertyReferenceOperation { Property: var property } when
            property.DeclaredAccessibility == Accessibility.Private || property.SetMethod is null or { IsInitOnly: true } or { DeclaredAccessibility: Accessibility.Private } =>
            InContainingType(property, model, ct),
        _ => default,
    };

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
            foreach (var node in declaration.GetSyntax(ct).DescendantNodes())
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
