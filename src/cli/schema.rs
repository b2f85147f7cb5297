//! `flowlake schema`: the lake's columns, from the field table.

use clap::Args;

use super::Outcome;

#[derive(Debug, Args)]
pub(crate) struct SchemaArgs {
    /// Print as a Markdown table (the README's copy).
    #[arg(long)]
    markdown: bool,
}

pub(crate) fn run(args: SchemaArgs) -> anyhow::Result<Outcome> {
    if args.markdown {
        print!("{}", flowlake_schemas::docs::schema_markdown());
    } else {
        for field in flowlake_schemas::schema::table_schema().fields() {
            println!("{:28} {}", field.name(), field.data_type());
        }
    }
    Ok(Outcome::Done)
}
