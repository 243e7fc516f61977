//! The code tables under `schemas/`: the single source of truth for both adapters and
//! validation.
//!
//! Each table is a CSV file embedded in the binary and parsed once. A row has a canonical
//! `key` (what the model stores), the Chinese `name`, and each platform's own spelling
//! (`zj`, `sh`). The model holds a [`Code<K>`], a reference to one row of table `K`, so a
//! value read from one platform is written to the other by looking at another column of the
//! same row — no mapping code anywhere else.
//!
//! The GB/T 2260 county table (`schemas/divisions.csv`, built from the national statistics
//! table by `schemas/build-divisions.py`) and the history of changed codes
//! (`schemas/divisions-history.csv`) are here too.

use std::fmt;
use std::marker::PhantomData;
use std::sync::OnceLock;

/// One row of a code table; every field borrows from the embedded CSV text.
#[derive(Debug, PartialEq, Eq)]
pub struct Row {
    /// Canonical key, stable across platforms (`food-new`).
    pub key: &'static str,
    /// Chinese name (`食品经营许可（新办）`).
    pub name: &'static str,
    /// Zhejiang's spelling (`330000-SCJG-SPJY-001`).
    pub zj: &'static str,
    /// Shanghai's spelling (`SH-SCJG-0701-01`).
    pub sh: &'static str,
    /// Table-specific columns after the first four, in file order.
    pub extra: Vec<&'static str>,
}

/// A code table: its rows in file order.
#[derive(Debug)]
pub struct Table {
    rows: Vec<Row>,
}

impl Table {
    fn parse(text: &'static str) -> Table {
        let rows = text
            .lines()
            .skip(1)
            .filter(|l| !l.trim().is_empty())
            .map(|line| {
                let mut cols = line.split(',');
                let mut next = || cols.next().unwrap_or_default();
                let (key, name, zj, sh) = (next(), next(), next(), next());
                Row {
                    key,
                    name,
                    zj,
                    sh,
                    extra: cols.collect(),
                }
            })
            .collect();
        Table { rows }
    }

    /// All rows, in file order.
    pub fn rows(&self) -> &[Row] {
        &self.rows
    }
}

/// Names one code table; the marker types below implement it.
pub trait Kind: 'static {
    /// What the table lists, for messages ("item code").
    const WHAT: &'static str;
    /// The same in Chinese, for messages ("事项编码").
    const WHAT_ZH: &'static str;
    /// The table itself.
    fn table() -> &'static Table;
}

macro_rules! kinds {
    ($($(#[$doc:meta])* $marker:ident => $field:ident, $file:literal, $what:literal, $what_zh:literal;)*) => {
        /// Every code table, parsed once from the embedded CSV files.
        pub struct Tables { $(
            /// The table of this kind.
            pub $field: Table,
        )* }

        fn tables() -> &'static Tables {
            static TABLES: OnceLock<Tables> = OnceLock::new();
            TABLES.get_or_init(|| Tables { $(
                $field: Table::parse(include_str!(concat!("../schemas/codes/", $file))),
            )* })
        }

        $(
            $(#[$doc])*
            #[derive(Debug)]
            pub enum $marker {}
            impl Kind for $marker {
                const WHAT: &'static str = $what;
                const WHAT_ZH: &'static str = $what_zh;
                fn table() -> &'static Table { &tables().$field }
            }
        )*
    };
}

kinds! {
    /// 事项: the licence applied for (`items.csv`).
    Item => items, "items.csv", "item code", "事项编码";
    /// 证件类型: identity document types (`id-types.csv`).
    IdType => id_types, "id-types.csv", "id type", "证件类型";
    /// 主体类型: entity types (`entity-types.csv`).
    EntityType => entity_types, "entity-types.csv", "entity type", "主体类型";
    /// 主体业态: main business formats of a food business (`main-formats.csv`).
    MainFormat => main_formats, "main-formats.csv", "main business format", "主体业态";
    /// 经营项目: food business items (`food-items.csv`).
    FoodItem => food_items, "food-items.csv", "food business item", "经营项目";
    /// 材料: material codes (`materials.csv`).
    Material => materials, "materials.csv", "material code", "材料编码";
}

/// A reference to one row of table `K`. Cheap to copy; equal when it is the same row.
pub struct Code<K: Kind> {
    row: &'static Row,
    kind: PhantomData<K>,
}

impl<K: Kind> Code<K> {
    fn find(pred: impl Fn(&Row) -> bool) -> Option<Self> {
        K::table().rows.iter().find(|r| pred(r)).map(|row| Code {
            row,
            kind: PhantomData,
        })
    }
    /// The row whose canonical key is `key`.
    pub fn from_key(key: &str) -> Option<Self> {
        Self::find(|r| r.key == key)
    }
    /// The row Zhejiang spells `zj`.
    pub fn from_zj(zj: &str) -> Option<Self> {
        Self::find(|r| r.zj == zj)
    }
    /// The row Shanghai spells `sh`.
    pub fn from_sh(sh: &str) -> Option<Self> {
        Self::find(|r| r.sh == sh)
    }
    /// The whole row.
    pub fn row(&self) -> &'static Row {
        self.row
    }
    /// Canonical key.
    pub fn key(&self) -> &'static str {
        self.row.key
    }
    /// Chinese name.
    pub fn name(&self) -> &'static str {
        self.row.name
    }
    /// Zhejiang's spelling.
    pub fn zj(&self) -> &'static str {
        self.row.zj
    }
    /// Shanghai's spelling.
    pub fn sh(&self) -> &'static str {
        self.row.sh
    }
    /// Every spelling in one column, for "expected one of …" messages.
    pub fn spellings(column: impl Fn(&Row) -> &'static str) -> String {
        K::table()
            .rows
            .iter()
            .map(column)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl<K: Kind> Clone for Code<K> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<K: Kind> Copy for Code<K> {}
impl<K: Kind> PartialEq for Code<K> {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self.row, other.row)
    }
}
impl<K: Kind> Eq for Code<K> {}
impl<K: Kind> fmt::Debug for Code<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}({})", K::WHAT, self.row.key)
    }
}

/// What an item needs besides the common sections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemKind {
    /// 食品经营许可: needs the food section and the operator's USCC.
    Food,
    /// 设立登记 (营业执照): needs the business scope; the USCC is assigned by the registration.
    Registration,
}

impl Code<Item> {
    /// Food licence or registration, from the `kind` column.
    pub fn kind(&self) -> ItemKind {
        match self.row.extra.first().copied() {
            Some("food") => ItemKind::Food,
            _ => ItemKind::Registration,
        }
    }
    /// Name of the licence this item issues (`食品经营许可证`, `营业执照`).
    pub fn licence_name(&self) -> &'static str {
        self.row.extra.get(1).copied().unwrap_or_default()
    }
}

impl Code<IdType> {
    /// True for 居民身份证, whose number carries a GB 11643 check digit.
    pub fn is_resident_id(&self) -> bool {
        self.row.extra.first() == Some(&"gb11643")
    }
}

impl Code<MainFormat> {
    /// The first digit of a food licence number (主体业态) for this format.
    pub fn licence_digit(&self) -> &'static str {
        self.row.extra.first().copied().unwrap_or_default()
    }
}

/// A GB/T 2260 county-level division.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Division {
    /// Six-digit code.
    pub code: u32,
    /// The code as the table writes it: its six digits.
    pub text: &'static str,
    /// County name (`平湖市`).
    pub name: &'static str,
    /// Province, city and county (`浙江省嘉兴市平湖市`), for messages.
    pub full_name: &'static str,
}

/// A county code that is no longer current, with what replaced it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FormerDivision {
    /// The old six-digit code.
    pub code: u32,
    /// Its name when it was current.
    pub name: &'static str,
    /// The code that replaced it.
    pub successor: u32,
    /// When it changed (`yyyy-mm`).
    pub changed: &'static str,
}

struct Divisions {
    current: Vec<Division>,
    former: Vec<FormerDivision>,
}

fn divisions() -> &'static Divisions {
    static DIVISIONS: OnceLock<Divisions> = OnceLock::new();
    DIVISIONS.get_or_init(|| {
        let rows = |text: &'static str| {
            text.lines()
                .skip(1)
                .filter(|l| !l.trim().is_empty())
                .map(|l| l.split(',').collect::<Vec<_>>())
        };
        let num = |s: &str| s.parse::<u32>().unwrap_or_default();
        let mut current: Vec<Division> = rows(include_str!("../schemas/divisions.csv"))
            .map(|c| Division {
                code: num(c[0]),
                text: c[0],
                name: c[1],
                full_name: c[2],
            })
            .collect();
        current.sort_by_key(|d| d.code);
        let former = rows(include_str!("../schemas/divisions-history.csv"))
            .map(|c| FormerDivision {
                code: num(c[0]),
                name: c[1],
                successor: num(c[2]),
                changed: c[3],
            })
            .collect();
        Divisions { current, former }
    })
}

/// The current division with this code.
pub fn division(code: u32) -> Option<&'static Division> {
    let table = &divisions().current;
    table
        .binary_search_by_key(&code, |d| d.code)
        .ok()
        .map(|i| &table[i])
}

/// A former code, if `code` was one.
pub fn former_division(code: u32) -> Option<&'static FormerDivision> {
    divisions().former.iter().find(|d| d.code == code)
}

/// Name of the province with this two-digit prefix, for the provinces tongban connects.
pub fn province_name(prefix: u32) -> Option<&'static str> {
    match prefix {
        31 => Some("上海市"),
        32 => Some("江苏省"),
        33 => Some("浙江省"),
        34 => Some("安徽省"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_map_between_platforms_through_one_row() {
        let item = Code::<Item>::from_sh("SH-SCJG-0701-01").unwrap();
        assert_eq!(item.zj(), "330000-SCJG-SPJY-001");
        assert_eq!(item.kind(), ItemKind::Food);
        let reg = Code::<Item>::from_zj("330000-SCJG-DJ-201").unwrap();
        assert_eq!(reg.sh(), "SH-SCJG-0101-LLC");
        assert_eq!(reg.kind(), ItemKind::Registration);
        assert_eq!(Code::<Item>::from_zj("SH-SCJG-0701-01"), None);
    }

    #[test]
    fn every_table_has_unique_spellings_in_every_column() {
        fn check<K: Kind>() {
            for col in [|r: &Row| r.key, |r: &Row| r.zj, |r: &Row| r.sh] {
                let mut seen: Vec<_> = K::table().rows().iter().map(col).collect();
                let n = seen.len();
                assert!(n > 0, "{} table is empty", K::WHAT);
                seen.sort();
                seen.dedup();
                assert_eq!(seen.len(), n, "duplicate spelling in {}", K::WHAT);
            }
        }
        check::<Item>();
        check::<IdType>();
        check::<EntityType>();
        check::<MainFormat>();
        check::<FoodItem>();
        check::<Material>();
    }

    #[test]
    fn division_codes_are_written_as_six_digits() {
        for d in &divisions().current {
            assert_eq!(d.text, format!("{:06}", d.code));
        }
    }

    #[test]
    fn divisions_know_the_counties_of_the_story_and_old_codes() {
        assert_eq!(division(330482).unwrap().full_name, "浙江省嘉兴市平湖市");
        assert_eq!(division(310116).unwrap().name, "金山区");
        assert_eq!(division(330499), None);
        let wujiang = former_division(320584).unwrap();
        assert_eq!(wujiang.successor, 320509);
        assert!(division(wujiang.successor).is_some());
    }
}
