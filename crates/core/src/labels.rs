//! The words postbook itself writes into a book ("Contents", "Notes", the dates of bylines),
//! in the book's language.
//!
//! Covered: English, Spanish, French, German, Portuguese, Italian, Polish, Russian, Ukrainian,
//! Japanese, Chinese, Hebrew, Arabic, Persian and Hindi. Any other language, or a tag that is
//! not one, gets English. Dates follow each language's own long form (`25. April 2024`,
//! `25 de abril de 2024`, `2024年4月25日`, `۲۵ آوریل ۲۰۲۴`).

use crate::model::DateTime;

/// The labels of one language.
#[derive(Debug)]
pub struct Labels {
    /// The primary language subtag these labels are for (`en`, `pt`).
    pub language: &'static str,
    /// The table of contents.
    pub contents: &'static str,
    /// The notes of a chapter.
    pub notes: &'static str,
    /// The comments on a post.
    pub comments: &'static str,
    /// An image (a figure whose picture is not embedded).
    pub image: &'static str,
    /// The cover.
    pub cover: &'static str,
    /// The nav's landmarks.
    pub landmarks: &'static str,
    /// The nav's page list.
    pub pages: &'static str,
    /// The title page.
    pub title_page: &'static str,
    /// The start of the text (the first chapter, as a landmark).
    pub start: &'static str,
    /// A post with no title and no date.
    pub untitled: &'static str,
    /// Before the number of posts on the title page: `Posts: 12`.
    pub posts: &'static str,
    /// Before the authors' names: `by Ada Lovelace`.
    pub by: &'static str,
    /// The part of posts in no category, as WordPress names its default category.
    pub uncategorized: &'static str,
    /// The part of posts with no tag.
    pub untagged: &'static str,
    /// The part of posts with no date.
    pub undated: &'static str,
    /// The part of posts with no author.
    pub unknown_author: &'static str,
    /// The page about the site (its description).
    pub about: &'static str,
    /// The colophon: where the book came from.
    pub colophon: &'static str,
    /// The colophon's line naming the source.
    pub source: &'static str,
    /// The colophon's line giving the date of the newest post.
    pub newest_post: &'static str,
    /// Month names as a date uses them (genitive where the language wants it).
    months: [&'static str; 12],
    /// How a date is written.
    style: DateStyle,
}

#[derive(Debug, Clone, Copy)]
enum DateStyle {
    /// `25 April 2024`
    DayMonthYear,
    /// `25. April 2024`
    DayDotMonthYear,
    /// `25 de abril de 2024`
    DayDeMonthDeYear,
    /// `1er avril 2024`
    French,
    /// `25 апреля 2024 г.` (the suffix given)
    DayMonthYearSuffix(&'static str),
    /// `2024年4月25日`
    YearMonthDayCjk,
    /// `25 באפריל 2024`
    Hebrew,
    /// `۲۵ آوریل ۲۰۲۴`
    PersianDigits,
}

const EN: Labels = Labels {
    language: "en",
    contents: "Contents",
    notes: "Notes",
    comments: "Comments",
    image: "Image",
    cover: "Cover",
    landmarks: "Landmarks",
    pages: "Pages",
    title_page: "Title page",
    start: "Start",
    untitled: "Untitled",
    posts: "Posts",
    by: "by",
    uncategorized: "Uncategorized",
    untagged: "No tags",
    undated: "Undated",
    unknown_author: "Unknown author",
    about: "About",
    colophon: "Colophon",
    source: "Source",
    newest_post: "Newest post",
    months: [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ],
    style: DateStyle::DayMonthYear,
};

const TABLE: [Labels; 15] = [
    EN,
    Labels {
        language: "es",
        contents: "Índice",
        notes: "Notas",
        comments: "Comentarios",
        image: "Imagen",
        cover: "Portada",
        landmarks: "Puntos de referencia",
        pages: "Páginas",
        title_page: "Portadilla",
        start: "Inicio",
        untitled: "Sin título",
        posts: "Entradas",
        by: "por",
        uncategorized: "Sin categoría",
        untagged: "Sin etiquetas",
        undated: "Sin fecha",
        unknown_author: "Autor desconocido",
        about: "Acerca de",
        colophon: "Colofón",
        source: "Fuente",
        newest_post: "Entrada más reciente",
        months: [
            "enero",
            "febrero",
            "marzo",
            "abril",
            "mayo",
            "junio",
            "julio",
            "agosto",
            "septiembre",
            "octubre",
            "noviembre",
            "diciembre",
        ],
        style: DateStyle::DayDeMonthDeYear,
    },
    Labels {
        language: "fr",
        contents: "Table des matières",
        notes: "Notes",
        comments: "Commentaires",
        image: "Image",
        cover: "Couverture",
        landmarks: "Repères",
        pages: "Pages",
        title_page: "Page de titre",
        start: "Début",
        untitled: "Sans titre",
        posts: "Articles",
        by: "par",
        uncategorized: "Non classé",
        untagged: "Sans étiquette",
        undated: "Sans date",
        unknown_author: "Auteur inconnu",
        about: "À propos",
        colophon: "Colophon",
        source: "Source",
        newest_post: "Article le plus récent",
        months: [
            "janvier",
            "février",
            "mars",
            "avril",
            "mai",
            "juin",
            "juillet",
            "août",
            "septembre",
            "octobre",
            "novembre",
            "décembre",
        ],
        style: DateStyle::French,
    },
    Labels {
        language: "de",
        contents: "Inhalt",
        notes: "Anmerkungen",
        comments: "Kommentare",
        image: "Bild",
        cover: "Umschlag",
        landmarks: "Orientierungspunkte",
        pages: "Seiten",
        title_page: "Titelseite",
        start: "Anfang",
        untitled: "Ohne Titel",
        posts: "Beiträge",
        by: "von",
        uncategorized: "Allgemein",
        untagged: "Ohne Schlagwörter",
        undated: "Ohne Datum",
        unknown_author: "Unbekannter Autor",
        about: "Über",
        colophon: "Impressum",
        source: "Quelle",
        newest_post: "Neuester Beitrag",
        months: [
            "Januar",
            "Februar",
            "März",
            "April",
            "Mai",
            "Juni",
            "Juli",
            "August",
            "September",
            "Oktober",
            "November",
            "Dezember",
        ],
        style: DateStyle::DayDotMonthYear,
    },
    Labels {
        language: "pt",
        contents: "Sumário",
        notes: "Notas",
        comments: "Comentários",
        image: "Imagem",
        cover: "Capa",
        landmarks: "Pontos de referência",
        pages: "Páginas",
        title_page: "Folha de rosto",
        start: "Início",
        untitled: "Sem título",
        posts: "Posts",
        by: "por",
        uncategorized: "Sem categoria",
        untagged: "Sem etiquetas",
        undated: "Sem data",
        unknown_author: "Autor desconhecido",
        about: "Sobre",
        colophon: "Colofão",
        source: "Fonte",
        newest_post: "Artigo mais recente",
        months: [
            "janeiro",
            "fevereiro",
            "março",
            "abril",
            "maio",
            "junho",
            "julho",
            "agosto",
            "setembro",
            "outubro",
            "novembro",
            "dezembro",
        ],
        style: DateStyle::DayDeMonthDeYear,
    },
    Labels {
        language: "it",
        contents: "Indice",
        notes: "Note",
        comments: "Commenti",
        image: "Immagine",
        cover: "Copertina",
        landmarks: "Punti di riferimento",
        pages: "Pagine",
        title_page: "Frontespizio",
        start: "Inizio",
        untitled: "Senza titolo",
        posts: "Articoli",
        by: "di",
        uncategorized: "Senza categoria",
        untagged: "Senza tag",
        undated: "Senza data",
        unknown_author: "Autore sconosciuto",
        about: "Informazioni",
        colophon: "Colophon",
        source: "Fonte",
        newest_post: "Articolo più recente",
        months: [
            "gennaio",
            "febbraio",
            "marzo",
            "aprile",
            "maggio",
            "giugno",
            "luglio",
            "agosto",
            "settembre",
            "ottobre",
            "novembre",
            "dicembre",
        ],
        style: DateStyle::DayMonthYear,
    },
    Labels {
        language: "pl",
        contents: "Spis treści",
        notes: "Przypisy",
        comments: "Komentarze",
        image: "Obraz",
        cover: "Okładka",
        landmarks: "Punkty orientacyjne",
        pages: "Strony",
        title_page: "Strona tytułowa",
        start: "Początek",
        untitled: "Bez tytułu",
        posts: "Wpisy",
        by: "autor:",
        uncategorized: "Bez kategorii",
        untagged: "Bez tagów",
        undated: "Bez daty",
        unknown_author: "Nieznany autor",
        about: "O stronie",
        colophon: "Kolofon",
        source: "Źródło",
        newest_post: "Najnowszy wpis",
        months: [
            "stycznia",
            "lutego",
            "marca",
            "kwietnia",
            "maja",
            "czerwca",
            "lipca",
            "sierpnia",
            "września",
            "października",
            "listopada",
            "grudnia",
        ],
        style: DateStyle::DayMonthYear,
    },
    Labels {
        language: "ru",
        contents: "Содержание",
        notes: "Примечания",
        comments: "Комментарии",
        image: "Изображение",
        cover: "Обложка",
        landmarks: "Ориентиры",
        pages: "Страницы",
        title_page: "Титульный лист",
        start: "Начало",
        untitled: "Без названия",
        posts: "Записи",
        by: "автор:",
        uncategorized: "Без рубрики",
        untagged: "Без меток",
        undated: "Без даты",
        unknown_author: "Неизвестный автор",
        about: "О сайте",
        colophon: "Выходные данные",
        source: "Источник",
        newest_post: "Последняя запись",
        months: [
            "января",
            "февраля",
            "марта",
            "апреля",
            "мая",
            "июня",
            "июля",
            "августа",
            "сентября",
            "октября",
            "ноября",
            "декабря",
        ],
        style: DateStyle::DayMonthYearSuffix(" г."),
    },
    Labels {
        language: "uk",
        contents: "Зміст",
        notes: "Примітки",
        comments: "Коментарі",
        image: "Зображення",
        cover: "Обкладинка",
        landmarks: "Орієнтири",
        pages: "Сторінки",
        title_page: "Титульна сторінка",
        start: "Початок",
        untitled: "Без назви",
        posts: "Записи",
        by: "автор:",
        uncategorized: "Без категорії",
        untagged: "Без позначок",
        undated: "Без дати",
        unknown_author: "Невідомий автор",
        about: "Про сайт",
        colophon: "Вихідні дані",
        source: "Джерело",
        newest_post: "Найновіший запис",
        months: [
            "січня",
            "лютого",
            "березня",
            "квітня",
            "травня",
            "червня",
            "липня",
            "серпня",
            "вересня",
            "жовтня",
            "листопада",
            "грудня",
        ],
        style: DateStyle::DayMonthYearSuffix(" р."),
    },
    Labels {
        language: "ja",
        contents: "目次",
        notes: "注",
        comments: "コメント",
        image: "画像",
        cover: "表紙",
        landmarks: "ランドマーク",
        pages: "ページ",
        title_page: "扉",
        start: "本文",
        untitled: "無題",
        posts: "投稿",
        by: "著者:",
        uncategorized: "未分類",
        untagged: "タグなし",
        undated: "日付なし",
        unknown_author: "作者不明",
        about: "概要",
        colophon: "奥付",
        source: "出典",
        newest_post: "最新の投稿",
        months: [""; 12],
        style: DateStyle::YearMonthDayCjk,
    },
    Labels {
        language: "zh",
        contents: "目录",
        notes: "注释",
        comments: "评论",
        image: "图片",
        cover: "封面",
        landmarks: "导航",
        pages: "页面",
        title_page: "扉页",
        start: "正文",
        untitled: "无标题",
        posts: "文章",
        by: "作者:",
        uncategorized: "未分类",
        untagged: "无标签",
        undated: "无日期",
        unknown_author: "作者不详",
        about: "关于",
        colophon: "版权页",
        source: "来源",
        newest_post: "最新文章",
        months: [""; 12],
        style: DateStyle::YearMonthDayCjk,
    },
    Labels {
        language: "he",
        contents: "תוכן העניינים",
        notes: "הערות",
        comments: "תגובות",
        image: "תמונה",
        cover: "כריכה",
        landmarks: "ציוני דרך",
        pages: "עמודים",
        title_page: "עמוד שער",
        start: "התחלה",
        untitled: "ללא כותרת",
        posts: "פוסטים",
        by: "מאת",
        uncategorized: "כללי",
        untagged: "ללא תגיות",
        undated: "ללא תאריך",
        unknown_author: "מחבר לא ידוע",
        about: "אודות",
        colophon: "קולופון",
        source: "מקור",
        newest_post: "הפוסט האחרון",
        months: [
            "ינואר",
            "פברואר",
            "מרץ",
            "אפריל",
            "מאי",
            "יוני",
            "יולי",
            "אוגוסט",
            "ספטמבר",
            "אוקטובר",
            "נובמבר",
            "דצמבר",
        ],
        style: DateStyle::Hebrew,
    },
    Labels {
        language: "ar",
        contents: "المحتويات",
        notes: "الحواشي",
        comments: "التعليقات",
        image: "صورة",
        cover: "الغلاف",
        landmarks: "معالم",
        pages: "الصفحات",
        title_page: "صفحة العنوان",
        start: "البداية",
        untitled: "بلا عنوان",
        posts: "المقالات",
        by: "بقلم",
        uncategorized: "غير مصنف",
        untagged: "بدون وسوم",
        undated: "بدون تاريخ",
        unknown_author: "كاتب غير معروف",
        about: "نبذة",
        colophon: "بيانات النشر",
        source: "المصدر",
        newest_post: "أحدث مقالة",
        months: [
            "يناير",
            "فبراير",
            "مارس",
            "أبريل",
            "مايو",
            "يونيو",
            "يوليو",
            "أغسطس",
            "سبتمبر",
            "أكتوبر",
            "نوفمبر",
            "ديسمبر",
        ],
        style: DateStyle::DayMonthYear,
    },
    Labels {
        language: "fa",
        contents: "فهرست مطالب",
        notes: "یادداشت‌ها",
        comments: "دیدگاه‌ها",
        image: "تصویر",
        cover: "جلد",
        landmarks: "نشانه‌ها",
        pages: "صفحه‌ها",
        title_page: "صفحهٔ عنوان",
        start: "آغاز",
        untitled: "بدون عنوان",
        posts: "نوشته‌ها",
        by: "نوشتهٔ",
        uncategorized: "دسته‌بندی نشده",
        untagged: "بدون برچسب",
        undated: "بدون تاریخ",
        unknown_author: "نویسندهٔ ناشناس",
        about: "درباره",
        colophon: "شناسنامه",
        source: "منبع",
        newest_post: "تازه‌ترین نوشته",
        months: [
            "ژانویه",
            "فوریه",
            "مارس",
            "آوریل",
            "مه",
            "ژوئن",
            "ژوئیه",
            "اوت",
            "سپتامبر",
            "اکتبر",
            "نوامبر",
            "دسامبر",
        ],
        style: DateStyle::PersianDigits,
    },
    Labels {
        language: "hi",
        contents: "विषय-सूची",
        notes: "टिप्पणियाँ",
        comments: "प्रतिक्रियाएँ",
        image: "चित्र",
        cover: "आवरण",
        landmarks: "मुख्य स्थान",
        pages: "पृष्ठ",
        title_page: "शीर्षक पृष्ठ",
        start: "आरंभ",
        untitled: "शीर्षकहीन",
        posts: "पोस्ट",
        by: "लेखक:",
        uncategorized: "अवर्गीकृत",
        untagged: "कोई टैग नहीं",
        undated: "बिना तारीख",
        unknown_author: "अज्ञात लेखक",
        about: "परिचय",
        colophon: "कोलोफ़ोन",
        source: "स्रोत",
        newest_post: "नवीनतम पोस्ट",
        months: [
            "जनवरी",
            "फ़रवरी",
            "मार्च",
            "अप्रैल",
            "मई",
            "जून",
            "जुलाई",
            "अगस्त",
            "सितंबर",
            "अक्टूबर",
            "नवंबर",
            "दिसंबर",
        ],
        style: DateStyle::DayMonthYear,
    },
];

/// The labels for a language tag (`pt-BR`, `fa_IR`, `EN`), English when the language is not
/// covered.
pub fn labels(lang: &str) -> &'static Labels {
    let primary = lang
        .trim()
        .split(['-', '_'])
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    // an older tag for a listed language
    let primary = match primary.as_str() {
        "iw" => "he",
        other => other,
    };
    TABLE
        .iter()
        .find(|l| l.language == primary)
        .unwrap_or(&TABLE[0])
}

impl Labels {
    /// The date as this language writes it in a byline.
    pub fn date(&self, d: &DateTime) -> String {
        let month = usize::from(d.month.clamp(1, 12)) - 1;
        let name = self.months[month];
        match self.style {
            DateStyle::DayMonthYear => format!("{} {name} {}", d.day, d.year),
            DateStyle::DayDotMonthYear => format!("{}. {name} {}", d.day, d.year),
            DateStyle::DayDeMonthDeYear => format!("{} de {name} de {}", d.day, d.year),
            DateStyle::French => {
                let day = if d.day == 1 {
                    "1er".to_string()
                } else {
                    d.day.to_string()
                };
                format!("{day} {name} {}", d.year)
            }
            DateStyle::DayMonthYearSuffix(suffix) => {
                format!("{} {name} {}{suffix}", d.day, d.year)
            }
            DateStyle::YearMonthDayCjk => format!("{}年{}月{}日", d.year, d.month, d.day),
            DateStyle::Hebrew => format!("{} ב{name} {}", d.day, d.year),
            DateStyle::PersianDigits => persian_digits(&format!("{} {name} {}", d.day, d.year)),
        }
    }

    /// A year, as a heading or a title says it: `2023`, `۲۰۲۳`, `2023年`.
    pub fn year(&self, year: i32) -> String {
        match self.style {
            DateStyle::YearMonthDayCjk => format!("{year}年"),
            DateStyle::PersianDigits => persian_digits(&year.to_string()),
            _ => year.to_string(),
        }
    }

    /// A month of a year, as a heading or a title says it: `May 2023`, `2023年5月`.
    pub fn month_year(&self, year: i32, month: u8) -> String {
        // a date's months are genitive in these languages; a month alone is nominative
        const PL: [&str; 12] = [
            "styczeń",
            "luty",
            "marzec",
            "kwiecień",
            "maj",
            "czerwiec",
            "lipiec",
            "sierpień",
            "wrzesień",
            "październik",
            "listopad",
            "grudzień",
        ];
        const RU: [&str; 12] = [
            "январь",
            "февраль",
            "март",
            "апрель",
            "май",
            "июнь",
            "июль",
            "август",
            "сентябрь",
            "октябрь",
            "ноябрь",
            "декабрь",
        ];
        const UK: [&str; 12] = [
            "січень",
            "лютий",
            "березень",
            "квітень",
            "травень",
            "червень",
            "липень",
            "серпень",
            "вересень",
            "жовтень",
            "листопад",
            "грудень",
        ];
        let i = usize::from(month.clamp(1, 12)) - 1;
        let name = match self.language {
            "pl" => PL[i],
            "ru" => RU[i],
            "uk" => UK[i],
            _ => self.months[i],
        };
        match self.style {
            DateStyle::YearMonthDayCjk => format!("{year}年{month}月"),
            DateStyle::PersianDigits => persian_digits(&format!("{name} {year}")),
            _ => format!("{name} {year}"),
        }
    }

    /// The span of the posts' dates: one date, or `from – to`.
    pub fn date_span(&self, first: &DateTime, last: &DateTime) -> String {
        let (a, b) = (self.date(first), self.date(last));
        if a == b {
            a
        } else {
            format!("{a} \u{2013} {b}")
        }
    }

    /// `by Ada Lovelace`.
    pub fn byline_names(&self, names: &str) -> String {
        format!("{} {names}", self.by)
    }

    /// `Posts: 12`, with the number in the language's digits.
    pub fn post_count(&self, n: usize) -> String {
        let n = n.to_string();
        let n = match self.style {
            DateStyle::PersianDigits => persian_digits(&n),
            _ => n,
        };
        format!("{}: {n}", self.posts)
    }
}

/// ASCII digits as Persian (extended Arabic-Indic) ones.
fn persian_digits(s: &str) -> String {
    s.chars()
        .map(|c| match c.to_digit(10) {
            Some(d) if c.is_ascii_digit() => char::from_u32(0x06F0 + d).unwrap_or(c),
            _ => c,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u8, d: u8) -> DateTime {
        DateTime {
            year: y,
            month: m,
            day: d,
            hour: 0,
            minute: 0,
            second: 0,
        }
    }

    #[test]
    fn a_month_alone_is_named_as_a_heading_names_it() {
        assert_eq!(labels("en").month_year(2023, 5), "May 2023");
        assert_eq!(labels("ru").month_year(2024, 4), "апрель 2024");
        assert_eq!(labels("pl").month_year(2024, 4), "kwiecień 2024");
        assert_eq!(labels("ja").month_year(2024, 4), "2024年4月");
        let fa = labels("fa").month_year(2024, 4);
        assert!(
            fa.ends_with("۲۰۲۴") && !fa.chars().any(|c| c.is_ascii_digit()),
            "{fa}"
        );
    }

    #[test]
    fn every_listed_language_has_its_own_labels() {
        let listed = [
            "en", "es", "fr", "de", "pt", "it", "pl", "ru", "uk", "ja", "zh", "he", "ar", "fa",
            "hi",
        ];
        let mut contents = std::collections::HashSet::new();
        for tag in listed {
            let l = labels(tag);
            assert_eq!(l.language, tag);
            for word in [
                l.contents,
                l.notes,
                l.comments,
                l.image,
                l.cover,
                l.landmarks,
                l.pages,
                l.title_page,
                l.start,
                l.untitled,
                l.posts,
                l.by,
            ] {
                assert!(!word.trim().is_empty(), "{tag}: an empty label");
            }
            contents.insert(l.contents);
            // a date in every month is written, with its month's name where it has one
            for m in 1..=12 {
                let text = l.date(&day(2024, m, 15));
                assert!(text.contains("15") || text.contains("۱۵"), "{tag}: {text}");
            }
        }
        // French and English share "Notes" and "Image", but no two share their contents label
        assert_eq!(contents.len(), listed.len());
    }

    #[test]
    fn regional_tags_and_unknown_languages() {
        assert_eq!(labels("pt-BR").language, "pt");
        assert_eq!(labels("fa_IR").language, "fa");
        assert_eq!(labels("DE").language, "de");
        assert_eq!(labels("iw").language, "he");
        assert_eq!(labels("nb-NO").language, "en");
        assert_eq!(labels("").language, "en");
        assert_eq!(labels("<script>").language, "en");
    }

    #[test]
    fn dates_follow_each_language() {
        let d = day(2024, 4, 25);
        let cases = [
            ("en", "25 April 2024"),
            ("es", "25 de abril de 2024"),
            ("fr", "25 avril 2024"),
            ("de", "25. April 2024"),
            ("pt-BR", "25 de abril de 2024"),
            ("it", "25 aprile 2024"),
            ("pl", "25 kwietnia 2024"),
            ("ru", "25 апреля 2024 г."),
            ("uk", "25 квітня 2024 р."),
            ("ja", "2024年4月25日"),
            ("zh-CN", "2024年4月25日"),
            ("he", "25 באפריל 2024"),
            ("ar", "25 أبريل 2024"),
            ("fa", "۲۵ آوریل ۲۰۲۴"),
            ("hi", "25 अप्रैल 2024"),
            ("xx", "25 April 2024"),
        ];
        for (tag, want) in cases {
            assert_eq!(labels(tag).date(&d), want, "{tag}");
        }
        assert_eq!(labels("fr").date(&day(2024, 5, 1)), "1er mai 2024");
        assert_eq!(labels("fa").post_count(12), "نوشته‌ها: ۱۲");
        assert_eq!(
            labels("en").date_span(&day(2014, 3, 2), &day(2024, 6, 3)),
            "2 March 2014 \u{2013} 3 June 2024"
        );
    }
}
