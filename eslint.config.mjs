// @ts-check
import tseslint from "typescript-eslint";

export default tseslint.config(
    { ignores: ["node_modules/**", "bin/**", "app/**"] },
    ...tseslint.configs.recommended,
    {
        rules: {
            // Tests read deeply into untyped mock inputs; production code must stay typed.
            "@typescript-eslint/no-explicit-any": "off",
            "@typescript-eslint/no-require-imports": "off",
            "@typescript-eslint/no-non-null-assertion": "off",
            eqeqeq: "error",
            "no-var": "error",
            "prefer-const": "error",
        },
    },
    {
        files: ["components/**/*.ts", "lib/**/*.ts", "index.ts"],
        rules: {
            "@typescript-eslint/no-explicit-any": "error",
            // Components take typed Args; they must never read stack config themselves.
            "no-restricted-syntax": [
                "error",
                { selector: "NewExpression[callee.property.name='Config']", message: "read config only in lib/config.ts via loadConfig()" },
            ],
        },
    },
);
