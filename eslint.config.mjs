// Type-aware lint: Pulumi's rules catch an Output in a template literal (it renders as
// "Calling [toString] on an [Output<T>] is not supported"), which no type check flags.
import pulumi from "@pulumi/eslint-plugin";
import tseslint from "typescript-eslint";

export default tseslint.config(
    { ignores: ["node_modules/**", "bin/**", "test-output/**", "reports/**", "**/.exp/**"] },
    ...tseslint.configs.recommended,
    {
        files: ["**/*.ts"],
        languageOptions: {
            parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
        },
        plugins: { "@pulumi": pulumi },
        rules: {
            "@pulumi/no-output-in-template-literal": "error",
            "@pulumi/no-output-instance-in-template-literal": "error",
            "@typescript-eslint/no-floating-promises": "error",
        },
    },
    {
        // The program's own code: functions that fit on a screen, each one concept (comments,
        // which say why, and blank lines are free), and lines that fit beside a diff.
        files: ["components/**/*.ts"],
        rules: {
            "max-lines-per-function": ["error", { max: 40, skipBlankLines: true, skipComments: true }],
            "max-len": ["error", {
                code: 120,
                ignoreStrings: true,
                ignoreTemplateLiterals: true,
                ignoreUrls: true,
                ignoreRegExpLiterals: true,
                ignoreComments: false,
            }],
        },
    },
);
